// The manual journal entry form: add and remove legs, and show the running totals and whether the entry
// balances, in all and per fund. Amounts are counted in fen (integers) so that 0.1 + 0.2 is exactly 0.30.
// The server checks everything again; this only helps while typing.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var body = form.querySelector("#legs tbody");

  function fen(text) {
    var value = (text || "").replace(/,/g, "").trim();
    if (!/^\d+(\.\d{0,2})?$/.test(value)) { return value === "" ? 0 : NaN; }
    var parts = value.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }

  function yuan(cents) {
    if (isNaN(cents)) { return "?"; }
    var whole = Math.floor(cents / 100), part = String(cents % 100);
    return whole + "." + (part.length < 2 ? "0" + part : part);
  }

  function update() {
    var debit = 0, credit = 0, funds = {};
    body.querySelectorAll("tr.leg").forEach(function (row) {
      var d = fen(row.querySelector("[name=debit]").value), c = fen(row.querySelector("[name=credit]").value);
      var fund = row.querySelector("[name=fund]").value || "—";
      funds[fund] = funds[fund] || {debit: 0, credit: 0};
      debit += d; credit += c; funds[fund].debit += d; funds[fund].credit += c;
    });
    var state = document.getElementById("balance-state");
    var balanced = !isNaN(debit) && !isNaN(credit) && debit === credit && debit > 0;
    document.getElementById("total-debit").textContent = yuan(debit);
    document.getElementById("total-credit").textContent = yuan(credit);
    state.textContent = balanced ? state.dataset.balanced : state.dataset.unbalanced;
    state.className = balanced ? "ok" : "bad";
    var table = document.getElementById("fund-totals"), rows = table.querySelector("tbody");
    rows.textContent = "";
    Object.keys(funds).sort().forEach(function (code) {
      var t = funds[code], ok = !isNaN(t.debit) && !isNaN(t.credit) && t.debit === t.credit;
      var tr = document.createElement("tr");
      [table.dataset.fund + " " + code, yuan(t.debit), yuan(t.credit),
       ok ? state.dataset.balanced : state.dataset.unbalanced].forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === 1 || i === 2) { td.className = "num"; }
        if (i === 3) { td.className = ok ? "ok" : "bad"; }
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
  }

  document.getElementById("add-leg").addEventListener("click", function () {
    var last = body.querySelector("tr.leg:last-child");
    var row = last.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    row.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    row.querySelectorAll(".error").forEach(function (span) { span.remove(); });
    body.appendChild(row);
    update();
  });

  body.addEventListener("click", function (event) {
    if (event.target.classList.contains("remove-leg") && body.querySelectorAll("tr.leg").length > 1) {
      event.target.closest("tr").remove();
      update();
    }
  });
  body.addEventListener("input", update);
  body.addEventListener("change", update);
  update();
});
