// Case pages: the two-step category choice, the description counter, photo names, the map pin and
// "use my location", the handler's map of open cases and the case's own small map. Every form works without
// this file; it only makes the pages easier on a phone.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const json = (id) => { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  const LIGHT = { green: "#1e8449", yellow: "#b9770e", red: "#c0392b", none: "#6b7785" };

  function baseMap(el, opts) {
    const map = L.map(el, Object.assign({ scrollWheelZoom: false }, opts || {}));
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    }
    el.leafletMap = map; // tests and other scripts reach the map through its element
    return map;
  }

  function outline(map, geometry, style) {
    if (!geometry) return null;
    return L.geoJSON({ type: "Feature", geometry: geometry, properties: {} }, { style: style, interactive: false }).addTo(map);
  }

  // Category: the group narrows the list of problems; the problem shows its extra questions.
  const groupSelect = $("[data-category-group]");
  const itemSelect = $("[data-category-item]");
  if (itemSelect) {
    const groups = $$("optgroup", itemSelect).map((g) => ({ code: g.dataset.group, el: g }));
    const questions = () => {
      $$("[data-for-category]").forEach((q) => {
        const on = q.dataset.forCategory === itemSelect.value;
        q.hidden = !on;
        $$("select, input", q).forEach((i) => { i.disabled = !on; });
      });
    };
    if (groupSelect) {
      groupSelect.closest("label").hidden = false;
      const narrow = () => {
        const code = groupSelect.value;
        groups.forEach((g) => { g.el.hidden = !!code && g.code !== code; g.el.disabled = !!code && g.code !== code; });
        const chosen = itemSelect.selectedOptions[0];
        if (chosen && chosen.value && code && chosen.parentElement.dataset.group !== code) itemSelect.value = "";
      };
      groupSelect.addEventListener("change", () => { narrow(); questions(); itemSelect.focus(); });
      itemSelect.addEventListener("change", () => {
        const g = itemSelect.selectedOptions[0] && itemSelect.selectedOptions[0].parentElement.dataset.group;
        if (g && groupSelect.value !== g) { groupSelect.value = g; narrow(); }
      });
      narrow();
    }
    itemSelect.addEventListener("change", questions);
    questions();
  }

  // Description: characters used of the limit.
  $$("[data-counter]").forEach((area) => {
    const out = document.getElementById(area.dataset.counter);
    const update = () => {
      out.textContent = out.dataset.template.replace("%(n)s", area.value.length).replace("%(max)s", out.dataset.max);
    };
    area.addEventListener("input", update);
    update();
  });

  // Photos: say which were chosen, and warn before sending too many.
  $$(".photo-input").forEach((input) => {
    const out = input.closest(".photo-pick").nextElementSibling;
    input.addEventListener("change", () => {
      const names = Array.from(input.files).map((f) => f.name);
      const max = Number(input.dataset.max);
      out.textContent = names.length ? input.dataset.chosen.replace("%(n)s", names.join("、")) : "";
      out.classList.toggle("error", names.length > max);
      if (names.length > max) out.textContent = input.dataset.tooMany + " " + out.textContent;
      // "Choose the photos again" is answered once they are chosen.
      const asked = out.nextElementSibling;
      if (asked && asked.classList.contains("field-error") && names.length && names.length <= max) asked.hidden = true;
    });
  });

  // A form is sent once: a second tap while the page loads would only repeat it.
  $$("form[data-once]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      const button = ev.submitter || $("button[type=submit]", form);
      if (button && button.dataset.busy) button.textContent = button.dataset.busy;
    });
  });

  // The pin: tap the map or use the phone's location; both fill the hidden lat/lon.
  const pick = $(".locpick");
  if (pick) {
    const form = pick.closest("form");
    const lat = $("input[name=lat]", form);
    const lon = $("input[name=lon]", form);
    const status = $("[data-pin-status]", pick);
    const clear = $("[data-clear-pin]", pick);
    const area = json("pick-area") || {};
    const el = $("#pickmap", pick);
    const map = baseMap(el, { tap: true });
    const shapes = [];
    const d = outline(map, area.district, { color: "#7b241c", weight: 2, fill: false });
    if (d) shapes.push(d);
    (area.grids || []).forEach((g) => shapes.push(outline(map, g, { color: "#b23a2e", weight: 2, fillColor: "#f5b7b1", fillOpacity: 0.2 })));
    // A worker's map opens on their grid; a resident's on the whole district.
    const focus = (shapes.length > 1 ? shapes.slice(1) : shapes).filter(Boolean);
    const bounds = focus.length ? L.featureGroup(focus).getBounds() : null;
    if (bounds && bounds.isValid()) map.fitBounds(bounds); else map.setView([27.11, 114.98], 13);
    let marker = null;
    const place = (la, lo, text) => {
      lat.value = la.toFixed(7);
      lon.value = lo.toFixed(7);
      if (marker) marker.setLatLng([la, lo]);
      else {
        marker = L.marker([la, lo], { draggable: true, keyboard: true }).addTo(map);
        marker.on("dragend", () => { const p = marker.getLatLng(); place(p.lat, p.lng); });
      }
      status.textContent = text || pick.dataset.labelChosen;
      status.classList.add("ok");
      clear.hidden = false;
      el.dataset.pinned = "1";
    };
    if (lat.value && lon.value) {
      place(Number(lat.value), Number(lon.value));
      map.setView([Number(lat.value), Number(lon.value)], Math.max(map.getZoom(), 15));
    }
    map.on("click", (ev) => place(ev.latlng.lat, ev.latlng.lng));
    clear.addEventListener("click", () => {
      lat.value = ""; lon.value = "";
      if (marker) { map.removeLayer(marker); marker = null; }
      status.textContent = pick.dataset.labelNone;
      status.classList.remove("ok");
      clear.hidden = true;
      delete el.dataset.pinned;
    });
    const locate = $("[data-locate]", pick);
    if (!navigator.geolocation) locate.hidden = true;
    locate.addEventListener("click", () => {
      status.textContent = pick.dataset.labelLocating;
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          place(pos.coords.latitude, pos.coords.longitude);
          map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
        },
        () => { status.textContent = pick.dataset.labelDenied; status.classList.remove("ok"); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
      );
    });
  }

  // The handler's map: their grids and the open cases in them, coloured like the list.
  const wb = $("#wbmap");
  if (wb) {
    const data = json("wb-data") || {};
    const map = baseMap(wb);
    const layers = (data.grids || []).map((g) => outline(map, g, { color: "#b23a2e", weight: 2, fillColor: "#f5b7b1", fillOpacity: 0.15 })).filter(Boolean);
    // The view first: markers drawn on a map without one have no position to measure.
    const bounds = L.latLngBounds([]);
    layers.forEach((l) => bounds.extend(l.getBounds()));
    (data.points || []).forEach((p) => bounds.extend([p.lat, p.lon]));
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 }); else map.setView([27.11, 114.98], 13);
    const points = (data.points || []).map((p) => {
      const m = L.circleMarker([p.lat, p.lon], { radius: p.mine ? 11 : 8, color: "#fff", weight: 2, fillColor: LIGHT[p.light] || LIGHT.none, fillOpacity: 0.95 });
      const light = data.lights && data.lights[p.light] ? data.lights[p.light] + " · " : "";
      m.bindPopup(`<strong>${esc(p.category)}</strong><br>${esc(light)}${esc(p.number)}<br><a href="/cases/${esc(p.number)}">${esc(wb.dataset.openLabel)}</a>`);
      return m.addTo(map);
    });
    wb.dataset.points = String(points.length);
  }

  // The case's place.
  const cm = $("#casemap");
  if (cm) {
    const map = baseMap(cm, { dragging: !L.Browser.mobile });
    const area = json("case-area") || {};
    outline(map, area.grid, { color: "#b23a2e", weight: 2, fillColor: "#f5b7b1", fillOpacity: 0.15 });
    const at = [Number(cm.dataset.lat), Number(cm.dataset.lon)];
    L.marker(at, { keyboard: false }).addTo(map);
    map.setView(at, 16);
  }
})();
