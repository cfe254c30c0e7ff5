// The counter's typed code: say as the cashier types whether the 8-digit code is complete. A QR
// text typed by a scanner gun (TPH1:…) is left for the server to read.
(function () {
  "use strict";
  var input = document.getElementById("token");
  var check = document.getElementById("token-check");
  if (!input || !check) { return; }
  var CODE = /^\d{8}$/;

  function update() {
    var value = input.value.replace(/[\s-]/g, "");
    var message = "";
    var ok = true;
    if (value === "" || /^TPH1:/i.test(value)) {
      message = "";
    } else if (/\D/.test(value)) {
      message = check.dataset.digitsOnly; ok = false;
    } else if (value.length > 8) {
      message = check.dataset.tooLong; ok = false;
    } else if (CODE.test(value)) {
      message = check.dataset.ready;
    } else {
      message = check.dataset.count.replace("{typed}", String(value.length)); ok = false;
    }
    check.textContent = message;
    check.classList.toggle("code-check-ok", ok && message !== "");
    if (ok) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); }
  }

  input.addEventListener("input", update);
  update();
})();
