// The review queue's "choose all": ticks or clears every activity on the page at once.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) { return; }
  var boxes = document.querySelectorAll("input[name=activity_id]");
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
})();
