// Registry pages: the grid profile's map (the unit's outline, the units below it, facilities as points) and
// "use my location" on the facility form. Every page works without this file.
(function () {
  "use strict";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const json = (id) => { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  const STATUS = { ok: "#1e8449", damaged: "#c0392b", missing: "#c0392b", removed: "#6b7785" };

  const el = document.getElementById("profile-map");
  if (el && window.L) {
    const data = json("profile-map-data") || {};
    const map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
    // Without a tile server (none is configured, or none is reachable) the outlines alone still draw.
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    }
    el.leafletMap = map;
    const bounds = L.latLngBounds([]);
    (data.children || []).forEach((c) => {
      const layer = L.geoJSON({ type: "Feature", geometry: c.geometry, properties: {} }, {
        style: { color: "#1f618d", weight: 1.5, fillColor: "#aed6f1", fillOpacity: 0.18, className: "child-unit" },
      }).addTo(map);
      layer.bindTooltip(esc(c.name), { sticky: true });
      layer.on("click", () => { window.location.href = "/registry?unit=" + encodeURIComponent(c.code); });
      bounds.extend(layer.getBounds());
    });
    if (data.unit) {
      const own = L.geoJSON({ type: "Feature", geometry: data.unit, properties: {} }, {
        style: { color: "#b23a2e", weight: 3, fill: !(data.children || []).length, fillColor: "#f5b7b1", fillOpacity: 0.2, className: "own-unit" },
        interactive: false,
      }).addTo(map);
      bounds.extend(own.getBounds());
    }
    (data.points || []).forEach((p) => bounds.extend([p.lat, p.lon]));
    // The view first: markers drawn on a map without one have no position to measure.
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 }); else map.setView([27.11, 114.98], 13);
    const points = (data.points || []).map((p) => {
      const m = L.circleMarker([p.lat, p.lon], { radius: 6, color: "#fff", weight: 1.5, fillColor: STATUS[p.status] || STATUS.removed, fillOpacity: 0.95, className: "facility" });
      const kind = (data.kinds || {})[p.kind] || p.kind;
      const status = (data.statuses || {})[p.status] || p.status;
      m.bindPopup(`<strong>${esc(kind)}</strong>${p.name ? " " + esc(p.name) : ""}<br>${esc(status)}<br><a href="/registry/things/${esc(p.id)}">${esc(el.dataset.openLabel)}</a>`);
      return m.addTo(map);
    });
    el.dataset.points = String(points.length);
    el.classList.add("loaded");
  }

  // "Use my location" fills latitude and longitude on a phone standing next to the facility.
  document.querySelectorAll("[data-locate]").forEach((button) => {
    if (!navigator.geolocation) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      const form = button.closest("form");
      navigator.geolocation.getCurrentPosition((pos) => {
        form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(6);
        form.querySelector("[name=lon]").value = pos.coords.longitude.toFixed(6);
      }, () => { button.textContent = button.dataset.failed; }, { enableHighAccuracy: true, timeout: 15000 });
    });
  });
})();
