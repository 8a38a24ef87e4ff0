/* crmkit web UI: progressive enhancement. Every action also works as a plain form. */
(function () {
  "use strict";
  var csrf = function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; };

  function post(url, form) {
    return fetch(url, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrf()}})
      .then(function (r) { return r.json().then(function (data) { return {status: r.status, data: data}; }); });
  }

  function say(text, error) {
    var el = document.getElementById("board-status") || document.getElementById("card-status");
    if (!el) return;
    el.textContent = text;
    el.className = "status" + (error ? " error" : " ok");
  }

  /* -- the board: drag, move forms, polling ------------------------------------------------- */
  var board = document.getElementById("board");
  var dialog = document.getElementById("move-dialog");
  var etag = null, busy = false;

  function refresh(force) {
    if (!board || (busy && !force)) return Promise.resolve();
    var headers = {};
    if (etag && !force) headers["If-None-Match"] = etag;
    return fetch(board.dataset.poll, {headers: headers, cache: "no-store", credentials: "same-origin"})
      .then(function (r) {
        if (r.status === 200) {
          etag = r.headers.get("ETag");
          return r.text().then(function (html) { if (!busy || force) { board.innerHTML = html; wire(); } });
        }
      }).catch(function () {});
  }

  function closeDialog() { if (dialog && dialog.open) dialog.close(); busy = false; }

  function answer(result) {
    var data = result.data || {};
    if (data.ok) {
      say(data.message + (data.tasks && data.tasks.length ? " " + data.tasks.join("; ") : ""), false);
      closeDialog();
      return refresh(true);
    }
    if (data.needs && dialog) {
      document.getElementById("move-dialog-body").innerHTML = data.needs;
      var form = dialog.querySelector("form");
      form.addEventListener("submit", function (ev) { ev.preventDefault(); post(form.action, form).then(answer); });
      dialog.querySelector("button.cancel").addEventListener("click", function () { closeDialog(); say("", false); refresh(true); });
      if (!dialog.open) dialog.showModal();
      var first = form.querySelector("select, input:not([type=hidden]), textarea");
      if (first) first.focus();
      return;
    }
    say((data.error && data.error.message) || data.error || "Error", true);
    closeDialog();
    return refresh(true);  /* the card snaps back */
  }

  function move(card, stage) {
    var form = card.querySelector("form.move");
    form.querySelector("select[name=stage]").value = stage;
    busy = true;
    return post(form.action, form).then(answer, function () { busy = false; refresh(true); });
  }

  function wire() {
    if (!board) return;
    board.querySelectorAll("form.move").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        move(form.closest(".card"), form.querySelector("select[name=stage]").value);
      });
    });
    if (window.Sortable) {
      board.querySelectorAll("ol.cards").forEach(function (list) {
        window.Sortable.create(list, {group: "board", animation: 120, draggable: ".card", filter: "select,button,input",
          preventOnFilter: false,
          onStart: function () { busy = true; },
          onEnd: function (ev) {
            if (ev.from === ev.to) { busy = false; return; }
            move(ev.item, ev.to.dataset.stage);
          }});
      });
    }
  }

  if (board) {
    wire();
    if (dialog) dialog.addEventListener("cancel", function () { busy = false; refresh(true); });
    setInterval(function () { refresh(false); }, 5000);
  }

  /* -- card pages: notice changes made by someone else --------------------------------------- */
  var card = document.querySelector("[data-card-poll]");
  if (card) {
    setInterval(function () {
      fetch(card.dataset.cardPoll, {cache: "no-store", credentials: "same-origin"}).then(function (r) {
        if (r.status !== 200) return;
        return r.json().then(function (data) {
          if (String(data.version) === card.dataset.version) return;
          var editing = document.activeElement && card.contains(document.activeElement) &&
            /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
          if (editing) { say(card.dataset.changedText, true); return; }
          fetch(location.href, {cache: "no-store", credentials: "same-origin"}).then(function (r2) { return r2.text(); })
            .then(function (html) {
              var doc = new DOMParser().parseFromString(html, "text/html");
              var fresh = doc.querySelector("[data-card-poll]");
              if (fresh) { card.replaceWith(fresh); card = fresh; }
            });
        });
      }).catch(function () {});
    }, 5000);
  }
})();
