// Care pages: which photos were chosen, one submission per form, printing the card, and scanning a care card
// with the phone's camera where the browser can read QR codes (BarcodeDetector). Every form works without it:
// the card's letters can always be typed.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  $$(".photo-input").forEach((input) => {
    const out = input.closest(".photo-pick").nextElementSibling;
    input.addEventListener("change", () => {
      const names = Array.from(input.files).map((f) => f.name);
      const max = Number(input.dataset.max);
      out.textContent = names.length ? input.dataset.chosen.replace("%(n)s", names.join("、")) : "";
      out.classList.toggle("error", names.length > max);
      if (names.length > max) out.textContent = input.dataset.tooMany + " " + out.textContent;
    });
  });

  $$("form[data-once]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      const button = ev.submitter || $("button[type=submit]", form);
      if (button && button.dataset.busy) button.textContent = button.dataset.busy;
    });
  });

  const scanner = $("[data-scanner]");
  if (scanner && "BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    scanner.hidden = false;
    const video = $("video", scanner);
    const status = $("[data-scan-status]", scanner);
    const form = $("[data-card-form]");
    $("[data-scan]", scanner).addEventListener("click", async () => {
      let stream;
      try {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        const look = async () => {
          const codes = await detector.detect(video).catch(() => []);
          if (codes.length) {
            stream.getTracks().forEach((t) => t.stop());
            form.elements.card_token.value = codes[0].rawValue.trim();
            form.requestSubmit ? form.requestSubmit() : form.submit();
            return;
          }
          window.requestAnimationFrame(look);
        };
        look();
      } catch (err) {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
        status.textContent = status.dataset.noCamera;
      }
    });
  }
})();
