// Every day chart (templates/_day_chart.html) answers a tap, a click, a finger sliding across it
// or, once focused, the arrow keys (Home and End too): the day is highlighted and its figure
// written below the chart, where a screen reader hears it.
(function () {
  document.querySelectorAll('.day-chart').forEach(function (figure) {
    var plot = figure.querySelector('svg');
    var readout = figure.querySelector('.chart-readout');
    var days = Array.prototype.slice.call(figure.querySelectorAll('.chart-day'));
    if (!plot || !readout || !days.length) return;
    var current = -1;
    function show(n) {
      current = Math.max(0, Math.min(days.length - 1, n));
      days.forEach(function (day, i) { day.classList.toggle('active', i === current); });
      readout.textContent = days[current].getAttribute('data-readout');
    }
    days.forEach(function (day, n) {
      day.addEventListener('click', function () { show(n); });
    });
    plot.addEventListener('pointermove', function (event) {
      var under = document.elementFromPoint(event.clientX, event.clientY);
      var day = under && under.closest('.chart-day');
      if (day && figure.contains(day)) show(days.indexOf(day));
    });
    plot.addEventListener('keydown', function (event) {
      var last = days.length - 1;
      var moves = {
        ArrowLeft: current < 0 ? last : current - 1,
        ArrowRight: current < 0 ? last : current + 1,
        Home: 0,
        End: last,
      };
      if (!(event.key in moves)) return;
      event.preventDefault();
      show(moves[event.key]);
    });
  });
})();
