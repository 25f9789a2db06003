/* Checkout pages: forms that submit once, the expiry countdown, and live status
   (polling with back-off, plus server push where the page offers it). No dependencies. */
(function () {
  "use strict";

  // Set once a form is on its way: from then on nothing here may reload the page, which would
  // cancel that submission's navigation (and its answer) midway.
  var submitting = false;

  // A page restored from the back/forward cache shows an old state: fetch the real one.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });

  // Double-submit protection: the second submit of a form is dropped, and its buttons are
  // disabled (after this tick, so the first submission still carries them).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) { return; }
    if (form.dataset.submitting) { event.preventDefault(); return; }
    form.dataset.submitting = "yes";
    submitting = true;
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        if (button.dataset.busyText) { button.textContent = button.dataset.busyText; }
      });
    }, 0);
  });

  function startCountdown(element) {
    var end = performance.now() + Number(element.dataset.secondsLeft) * 1000;
    function show() {
      var left = Math.max(0, Math.ceil((end - performance.now()) / 1000));  // 0 only at the end
      var minutes = Math.floor(left / 60), seconds = left % 60;
      element.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      element.classList.toggle("urgent", left < 60);
      if (left === 0) {  // the server now says "expired"
        if (!submitting) { window.location.reload(); }
        return;
      }
      setTimeout(show, ((end - performance.now()) % 1000) + 10);  // just past the next second
    }
    show();
  }

  // Reload once the order's state differs from the one this page shows; stop at a final state.
  function startLiveStatus(config) {
    var pollMs = Number(config.pollMs), maxMs = Number(config.pollMaxMs);
    var delay = pollMs, done = false, source = null, pushDelay = pollMs;

    function apply(data) {
      if (done || submitting) { return; }
      if (data.state !== config.state) {
        done = true;
        if (source) { source.close(); }
        window.location.reload();
      } else if (data.final) {
        done = true;
        if (source) { source.close(); }
      }
    }

    function poll() {
      fetch(config.statusUrl, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (data) { delay = pollMs; apply(data); })
        .catch(function () { delay = Math.min(delay * 2, maxMs); })  // a network blip: back off
        .then(function () { if (!done) { setTimeout(poll, delay); } });
    }

    function listen() {
      source = new EventSource(config.eventsUrl);
      source.addEventListener("status", function (event) {
        pushDelay = pollMs;
        apply(JSON.parse(event.data));
      });
      source.onerror = function () {
        // EventSource retries a dropped or ended stream by itself; one it gave up on (an error
        // answer) is opened again with back-off. Polling goes on either way.
        if (source.readyState === EventSource.CLOSED && !done) {
          setTimeout(listen, pushDelay);
          pushDelay = Math.min(pushDelay * 2, maxMs);
        }
      };
    }

    setTimeout(poll, delay);
    if (config.eventsUrl && window.EventSource) { listen(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var countdown = document.getElementById("countdown");
    if (countdown) { startCountdown(countdown); }
    var live = document.getElementById("live-status");
    if (live) { startLiveStatus(live.dataset); }
  });
})();
