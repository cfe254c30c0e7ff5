// The merchant's scan page: read the resident's QR code with the camera and submit it.
// BarcodeDetector where the browser has it; the vendored jsQR otherwise.
(function () {
  "use strict";
  var start = document.getElementById("scan-start");
  if (!start) { return; }
  var scanner = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var status = document.getElementById("scan-status");
  var form = document.getElementById("scan-form");
  var input = document.getElementById("token");
  var detector = null;
  var stream = null;
  var done = false;

  function say(key) { status.textContent = status.dataset[key]; }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
  }

  function found(text) {
    if (done) { return; }
    done = true;
    stop();
    say("found");
    input.value = text;
    form.submit();
  }

  function decodeWithJsQR() {
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || typeof window.jsQR !== "function") { return null; }
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    var image = context.getImageData(0, 0, width, height);
    var code = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  }

  function tick() {
    if (done) { return; }
    if (video.readyState < 2) { return later(); }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes.length) { found(codes[0].rawValue); } else { later(); }
      }).catch(function () { detector = null; later(); });
      return;
    }
    var text = decodeWithJsQR();
    if (text) { found(text); } else { later(); }
  }

  function later() { setTimeout(function () { window.requestAnimationFrame(tick); }, 120); }

  function chooseDetector() {
    if (!("BarcodeDetector" in window)) { return Promise.resolve(null); }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    }).catch(function () { return null; });
  }

  start.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("noCamera");
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        scanner.hidden = false;
        start.hidden = true;
        say("looking");
        return video.play().then(chooseDetector);
      })
      .then(function (chosen) { detector = chosen; tick(); })
      .catch(function () { say("noCamera"); });
  });
})();
