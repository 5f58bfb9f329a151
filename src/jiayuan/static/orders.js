// Order pages: countdowns to an offer's deadline, today's past time slots greyed out, and the live parts that
// HTMX swaps in (their countdowns start again). Every form works without this file.
(function () {
  "use strict";
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function pad(n) { return String(n).padStart(2, "0"); }

  function tick() {
    const now = Date.now();
    $$("[data-deadline]").forEach((el) => {
      const left = Math.floor((Date.parse(el.dataset.deadline) - now) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.over;
        el.classList.add("over");
        // An offer past its deadline can no longer be taken: say so rather than let the tap fail.
        const card = el.closest(".offer-card, .actions, .order-head");
        if (card) $$("button[data-accept]", card).forEach((b) => { b.disabled = true; });
        return;
      }
      const m = Math.floor(left / 60);
      const text = m >= 60 ? `${Math.floor(m / 60)}:${pad(m % 60)}:${pad(left % 60)}` : `${pad(m)}:${pad(left % 60)}`;
      el.textContent = el.dataset.left.replace("%(time)s", text);
      el.classList.toggle("soon", left < 180);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);

  // Slots of today that have already begun cannot be chosen.
  const day = document.querySelector("[data-day]");
  const slots = document.querySelector("fieldset.slots");
  if (day && slots) {
    const past = new Set((slots.dataset.pastToday || "").split(" ").filter(Boolean));
    const update = () => {
      const today = day.value === day.dataset.today;
      $$("input[name=slot]", slots).forEach((input) => {
        const gone = today && past.has(input.value);
        input.disabled = gone;
        input.closest("label").classList.toggle("gone", gone);
        if (gone && input.checked) {
          input.checked = false;
          const first = $$("input[name=slot]", slots).find((i) => !i.disabled);
          if (first) first.checked = true;
        }
      });
    };
    day.addEventListener("change", update);
    update();
  }
})();
