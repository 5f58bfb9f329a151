// The public directory's map: street outlines and one dot per centre, green when it keeps hours today. Draws
// without a tile server (the tile URL is configurable and may be empty); the data sits in the page as JSON.
(function () {
  const el = document.getElementById("centres-map");
  const data = JSON.parse(document.getElementById("centres-data").textContent);
  if (!el || !window.L) return;
  const label = (k) => el.dataset["label" + k];
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution }).addTo(map);
  }
  // Street names sit under the dots (the tooltip pane would cover them).
  map.createPane("streetLabels").style.zIndex = 450;
  const layers = [];
  if (data.outlines.length) {
    const outlines = L.geoJSON({ type: "FeatureCollection", features: data.outlines.map((s) => ({ type: "Feature", geometry: s.geometry, properties: { name: s.name } })) }, {
      style: { color: "#a04000", weight: 2, fillColor: "#fdebd0", fillOpacity: 0.35 },
      // Street names stay on the map: readers find their street by name, not by outline.
      onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "street-label", pane: "streetLabels" }),
    }).addTo(map);
    layers.push(outlines);
  }
  const dots = L.featureGroup().addTo(map);
  data.points.forEach((p) => {
    const dot = L.circleMarker([p.lat, p.lon], {
      radius: 11, weight: 3, color: "#fff", fillColor: p.open ? "#1e8449" : "#7b8794", fillOpacity: 1,
    });
    const when = p.open ? `${esc(label("Open"))} ${esc(p.hours)}` : esc(label("Closed"));
    dot.bindPopup(`<strong>${esc(p.name)}</strong><br>${esc(p.kind || "")}<br>${when}<br><a href="#c-${esc(p.id)}">${esc(label("List"))}</a>`);
    dot.addTo(dots);
  });
  layers.push(dots);
  const bounds = L.latLngBounds([]);
  layers.forEach((l) => { const b = l.getBounds(); if (b.isValid()) bounds.extend(b); });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 16 }); else map.setView([27.11, 114.98], 12);
  el.dataset.points = data.points.length;
  el.classList.add("loaded");
})();
