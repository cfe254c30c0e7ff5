// Show only the fields the chosen kind of activity uses (all stay in the form without JS).
(function () {
  var form = document.getElementById('self-report');
  if (!form) return;
  var kind = form.querySelector('select[name="kind"]');
  function update() {
    form.querySelectorAll('.report-field').forEach(function (el) {
      var kinds = (el.getAttribute('data-kinds') || '').split(' ');
      el.hidden = kinds.indexOf(kind.value) === -1;
    });
  }
  kind.addEventListener('change', update);
  update();
})();
