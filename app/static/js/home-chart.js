// The home chart answers a tap, a click, a keyboard focus or a finger sliding across it: the
// day under it is highlighted and its figure written below the chart.
(function () {
  var chart = document.getElementById('home-chart');
  var readout = document.getElementById('chart-readout');
  if (!chart || !readout) return;
  var days = chart.querySelectorAll('.chart-day');
  function show(day) {
    days.forEach(function (d) { d.classList.toggle('active', d === day); });
    readout.textContent = day.getAttribute('data-readout');
  }
  days.forEach(function (day) {
    day.addEventListener('click', function () { show(day); });
    day.addEventListener('focus', function () { show(day); });
  });
  chart.addEventListener('pointermove', function (event) {
    var under = document.elementFromPoint(event.clientX, event.clientY);
    var day = under && under.closest('.chart-day');
    if (day) show(day);
  });
})();
