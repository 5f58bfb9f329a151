// The counter: the running total of the items picked and what the balance will be after; quantities kept within
// what is on the shelf. The receipt's print button. The donation form shows the fields of goods or of money.
(() => {
  const form = document.getElementById("redeem-form");
  if (form) {
    const balance = Number(form.dataset.balance || 0);
    const total = document.getElementById("total");
    const after = document.getElementById("after");
    const line = total.closest(".pick-total");
    const update = () => {
      let sum = 0;
      form.querySelectorAll("tr[data-points]").forEach((row) => {
        const input = row.querySelector("input[type=number]");
        const quantity = input && !input.disabled ? Math.max(0, Math.floor(Number(input.value) || 0)) : 0;
        row.classList.toggle("picked", quantity > 0);
        sum += quantity * Number(row.dataset.points);
      });
      total.textContent = sum.toLocaleString();
      after.textContent = (balance - sum).toLocaleString();
      line.classList.toggle("over", sum > balance);
    };
    form.addEventListener("input", update);
    update();
  }
  const donation = document.querySelector(".donation-form");
  if (donation) {
    const show = () => {
      const checked = donation.querySelector("input[name=kind]:checked");
      donation.classList.toggle("money", Boolean(checked && checked.value === "money"));
    };
    donation.addEventListener("change", show);
    show();
  }
})();
