// Show only the fields the chosen kind of activity uses (all stay in the form without JS), and
// refuse an evidence file over the limit before it is uploaded.
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

  var file = form.querySelector('input[type="file"]');
  var limit = Number(form.getAttribute('data-max-bytes'));
  if (!file || !limit) return;
  var error = document.createElement('p');
  error.className = 'field-error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  file.parentNode.appendChild(error);
  file.addEventListener('change', function () {
    var tooLarge = file.files.length && file.files[0].size > limit;
    error.hidden = !tooLarge;
    error.textContent = tooLarge ? form.getAttribute('data-too-large') : '';
    file.parentNode.classList.toggle('has-error', !!tooLarge);
    if (tooLarge) file.value = '';
  });
})();
