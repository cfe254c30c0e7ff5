// The resident's QR page: refresh the code before it expires and watch what the merchant did.
(function () {
  "use strict";
  var page = document.getElementById("qr-page");
  if (!page) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var figure = document.getElementById("qr-figure");
  var codeText = document.getElementById("qr-code");
  var live = document.getElementById("qr-live");
  var outcome = document.getElementById("qr-outcome");
  var message = document.getElementById("qr-message");
  var voucher = document.getElementById("qr-voucher");
  var voucherCode = document.getElementById("qr-voucher-code");
  var voucherNumbers = document.getElementById("qr-voucher-numbers");
  var instructions = document.getElementById("qr-instructions");
  var warning = document.getElementById("qr-warning");
  var balance = document.getElementById("qr-balance");
  var since = page.dataset.firstToken;
  var redeemed = false;
  var seenReplays = 0;
  var refreshTimer = null;
  var polls = 0;
  var MAX_POLLS = 600; // 20 minutes at one poll every 2 s: a forgotten tab stops by itself

  function warn(text) {
    warning.textContent = text;
    warning.hidden = !text;
  }

  function scheduleRefresh(expiresIn) {
    // A fresh code 15 s before the shown one expires, so the cashier never scans a dead one.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, Math.max(5, expiresIn - 15) * 1000);
  }

  function showToken(token) {
    figure.innerHTML = token.svg; // markup made by the server's QR encoder: a single <path>
    codeText.textContent = token.code.slice(0, 4) + " " + token.code.slice(4);
  }

  function refresh() {
    if (redeemed) { return; }
    fetch(page.dataset.tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        live.hidden = true; // e.g. no points left or a limit reached: no code to show
        warn(result.body.message);
        return;
      }
      warn("");
      showToken(result.body);
      scheduleRefresh(result.body.expires_in);
    }).catch(function () {
      warn(page.dataset.refreshFailed);
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refresh, 5000);
    });
  }

  function showStatus(status) {
    balance.textContent = Number(status.balance).toLocaleString("en-US");
    if (status.replays > seenReplays) {
      seenReplays = status.replays;
      warn(page.dataset.replayMessage);
    }
    if (status.state === "redeemed" && !redeemed) {
      redeemed = true;
      clearTimeout(refreshTimer);
      live.hidden = true;
      outcome.hidden = false;
      outcome.classList.add("result-ok");
      message.textContent = status.message;
      voucherCode.textContent = status.redemption.fulfilment.code;
      voucherNumbers.textContent = page.dataset.voucherNumbers
        .replace("{redemption}", status.redemption.id)
        .replace("{offer}", page.dataset.offerId);
      voucher.hidden = false;
      instructions.textContent = status.redemption.fulfilment.instructions;
    } else if (status.state === "refused") {
      outcome.hidden = false;
      message.textContent = status.message;
      since = status.token_id + 1; // report each refusal once, then watch the new code
      refresh();
    }
  }

  function poll() {
    polls += 1;
    fetch(page.dataset.statusUrl + "?since=" + encodeURIComponent(since), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (status) {
      if (status) { showStatus(status); }
    }).catch(function () {
      // The next poll tries again.
    }).then(function () {
      if (polls < MAX_POLLS) { setTimeout(poll, 2000); }
    });
  }

  scheduleRefresh(parseInt(page.dataset.expiresIn, 10));
  setTimeout(poll, 2000);
})();
