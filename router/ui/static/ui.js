// strangler dashboard: plain browser JavaScript, no build step, no library.
// - polls the page's live part (#live, data-live = its URL) and swaps it in, unless the
//   user is busy inside it (focus or a pending change), so forms are never clobbered;
// - sends every change to the admin API itself (same origin, the session cookie plus
//   the X-CSRF-Token header), and shows the API's own error message when it refuses.
// Everything it writes into the page is text (textContent) or HTML the server escaped.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const live = document.getElementById("live");
  const status = document.getElementById("live-status");
  let busy = false;
  let failures = 0;

  function say(el, text, ok) {
    el.textContent = text;
    el.dataset.state = ok ? "ok" : "error";
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function message(result) {
    if (result.ok) return "";
    const err = result.data && result.data.error;
    return err ? err.code + ": " + err.message : "HTTP " + result.status;
  }

  function applyFilter() {
    const box = document.querySelector("[data-filter]");
    if (!box) return;
    const needle = box.value.trim().toLowerCase();
    document.querySelectorAll(box.dataset.filter).forEach(function (row) {
      row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
    });
  }

  // true while the user works inside the live part: swapping it would drop their input
  // and move keyboard focus, so updates pause until focus leaves it
  function using() {
    const focused = document.activeElement;
    return !!focused && focused !== document.body && live.contains(focused);
  }

  async function refresh(force) {
    if (!live || document.hidden) return;
    if (!force && (busy || using())) {
      if (!busy) say(status, "live: paused while a control in the table has focus", true);
      return;
    }
    try {
      const response = await fetch(live.dataset.live, { credentials: "same-origin" });
      if (response.status === 401) {
        say(status, "✘ session ended: reload the page to log in again", false);
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const html = await response.text();
      if (!force && (busy || using())) return;
      live.innerHTML = html;
      applyFilter();
      failures = 0;
      say(status, "live: updated " + new Date().toLocaleTimeString(), true);
    } catch (e) {
      failures += 1;
      say(status, "✘ connection lost (" + failures + " tries), retrying…", false);
    }
  }

  // action "set": PATCH the chosen mode/percent/target (gated when [gate] guard_set);
  // "promote"/"demote": one rung up or down the ladder (a promotion always passes the gate)
  async function switchRoute(form, action) {
    const out = form.querySelector(".result");
    const body = { reason: form.reason.value };
    if (action === "set") {
      body.mode = form.mode.value;
      if (form.mode.value === "canary") body.percent = Number(form.percent.value);
      if (form.target.value) body.target = form.target.value;
    }
    if (form.force.checked) {
      if (!form.reason.value.trim()) {
        say(out, "✘ forcing past the promotion gate needs a reason", false);
        form.reason.focus();
        return;
      }
      body.force = true;
    }
    const route = encodeURIComponent(form.dataset.route);
    const result = action === "set"
      ? await api("PATCH", "/routes/" + route, body)
      : await api("POST", "/routes/" + route + "/" + action, body);
    if (result.ok) {
      say(out, "✔ now version " + result.data.version, true);
      return true;
    }
    say(out, "✘ " + message(result), false);
    if (result.data && result.data.error && result.data.error.code === "promotion_refused") {
      form.force.focus();
    }
    return false;
  }

  async function rollback(form) {
    const out = form.querySelector(".result");
    const version = Number(form.dataset.version);
    if (!window.confirm("Roll the route table back to version " + version + "?")) {
      say(out, "rollback cancelled", true);
      return false;
    }
    const reason = form.reason.value || "rollback from the dashboard";
    const result = await api("POST", "/rollback", { version: version, reason: reason });
    say(out, result.ok ? "✔ rolled back: now version " + result.data.version : "✘ " + message(result), result.ok);
    return result.ok;
  }

  document.addEventListener("submit", async function (event) {
    const form = event.target;
    const kind = form.dataset && form.dataset.api;
    if (!kind) return;
    event.preventDefault();
    busy = true;
    let done = false;
    try {
      const action = event.submitter ? event.submitter.value : "set";
      done = kind === "route" ? await switchRoute(form, action) : await rollback(form);
    } catch (e) {
      say(form.querySelector(".result"), "✘ " + e, false);
    } finally {
      busy = false;
    }
    const note = form.querySelector(".result");
    const what = form.dataset.route ? "route " + form.dataset.route : "version " + form.dataset.version;
    say(document.getElementById("last-action"), what + ": " + note.textContent, note.dataset.state === "ok");
    if (done) {
      if (document.activeElement) document.activeElement.blur();
      await refresh(true);
    }
  });

  document.addEventListener("input", function (event) {
    const el = event.target;
    if (el.dataset && el.dataset.shows) document.getElementById(el.dataset.shows).textContent = el.value;
    if (el.dataset && el.dataset.filter !== undefined) applyFilter();
  });

  document.addEventListener("click", async function (event) {
    const el = event.target;
    if (!el.dataset || !el.dataset.copy) return;
    const field = document.getElementById(el.dataset.copy);
    field.select();
    try { await navigator.clipboard.writeText(field.value); el.textContent = "Copied"; }
    catch (e) { el.textContent = "Selected: press Ctrl+C"; }
  });

  if (live) window.setInterval(refresh, Number(live.dataset.interval) || 3000);
})();
