// The phone simulator: a feature phone's keypad, USSD screen and SMS inbox.
// Every action is a POST to the console, which replays it through the real webhooks.
"use strict";

(function () {
  const root = document.querySelector(".simulator");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const screen = $("screen");
  const dial = $("dial");
  const phone = () => $("phone-number").value.trim();
  // A USSD session as AT sees it: one id, and every input so far joined by "*".
  let session = null;
  let inputs = [];
  let hops = 0; // counts screens shown, so a watcher (or a test) knows a new one arrived
  let startedAt = 0;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({ error: "HTTP " + response.status }));
    if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
    return data;
  }

  function show(text, state) {
    screen.textContent = text;
    screen.dataset.state = state;
    screen.dataset.hop = String(++hops);
  }

  async function call() {
    const typed = dial.value.trim();
    if (session === null) {
      if (typed !== root.dataset.serviceCode) {
        show("Dial " + root.dataset.serviceCode + " to start.", "idle");
        return;
      }
      inputs = [];
      startedAt = Date.now();
    } else {
      inputs.push(typed);
    }
    try {
      const reply = await post(root.dataset.ussdUrl, {
        phone: phone(),
        session_id: session || "",
        text: inputs.join("*"),
      });
      session = reply.more ? reply.session_id : null;
      show(reply.screen, reply.more ? "open" : "ended");
      if (!reply.more) end(reply.session_id, "success");
    } catch (error) {
      session = null;
      show("Error: " + error.message, "error");
    }
    dial.value = session === null ? root.dataset.serviceCode : "";
    refreshInbox();
  }

  // AT tells the app how each session ended; the simulator does the same, so USSD
  // analytics (outcomes, drop-off) count simulated sessions like real ones.
  function end(id, status) {
    post(root.dataset.ussdEndUrl, {
      phone: phone(),
      session_id: id,
      status: status,
      input: inputs.length ? inputs[inputs.length - 1] : "",
      hops: inputs.length + 1,
      duration_ms: Date.now() - startedAt,
    }).catch((error) => show("Error: " + error.message, "error"));
  }

  function hangup() {
    if (session !== null) end(session, "incomplete");
    session = null;
    inputs = [];
    dial.value = root.dataset.serviceCode;
    show("Call ended.", "ended");
  }

  async function sendSms() {
    const text = $("sms-text").value;
    if (!text.trim()) return;
    try {
      await post(root.dataset.smsUrl, { phone: phone(), text: text });
      $("sms-text").value = "";
    } catch (error) {
      show("SMS error: " + error.message, "error");
    }
    // The reply is sent by a background job: look again a few times.
    for (const wait of [300, 1000, 2500]) setTimeout(refreshInbox, wait);
  }

  async function refreshInbox() {
    const url = root.dataset.inboxUrl + "?phone=" + encodeURIComponent(phone());
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const list = $("inbox");
    list.replaceChildren();
    for (const message of data.messages) {
      const item = document.createElement("li");
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = message.at + " · " + message.status;
      const body = document.createElement("p");
      body.textContent = message.body;
      item.append(when, body);
      list.append(item);
    }
    if (!data.messages.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No messages yet.";
      list.append(empty);
    }
  }

  for (const key of root.querySelectorAll(".key")) {
    key.addEventListener("click", () => { dial.value += key.dataset.key; });
  }
  $("call").addEventListener("click", call);
  $("hangup").addEventListener("click", hangup);
  $("clear").addEventListener("click", () => { dial.value = ""; });
  dial.addEventListener("keydown", (event) => { if (event.key === "Enter") call(); });
  $("sms-send").addEventListener("click", sendSms);
  $("phone-number").addEventListener("change", () => { hangup(); refreshInbox(); });
  refreshInbox();
  setInterval(refreshInbox, 5000);
})();
