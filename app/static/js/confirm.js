// Irreversible staff actions (reverse, withdraw, reject, approve) ask before they are sent: the
// pressed button's data-confirm question, or else its form's, must be answered yes.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
