// The map page: draws the grid polygons of the user's scope from the GeoJSON export, with or without a
// base map (the tile URL is configurable; if no tile server is reachable the polygons still draw).
(function () {
  const el = document.getElementById("map");
  const label = (k) => el.dataset["label" + k];
  const colon = el.dataset.colon;
  const map = L.map(el, { preferCanvas: false });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution }).addTo(map);
  }
  const styles = {
    district: { color: "#7b241c", weight: 3, fill: false },
    street: { color: "#a04000", weight: 2, fill: false, dashArray: "6 4" },
    community: { color: "#1f618d", weight: 1.5, fill: false },
    grid: { color: "#b23a2e", weight: 1, fillColor: "#f5b7b1", fillOpacity: 0.25 },
  };
  const byCode = {};
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  async function popup(layer, props) {
    let html = `<strong>${esc(props.name)}</strong><br>${esc(label("Code"))}${colon}${esc(props.code)}`;
    layer.setPopupContent(html + "<br>…");
    const res = await fetch(`/api/v1/units/${props.code}/workers`, { headers: { Accept: "application/json" } });
    if (res.ok) {
      const workers = await res.json();
      const lead = workers.find((w) => w.is_lead);
      const others = workers.filter((w) => !w.is_lead).map((w) => esc(w.full_name));
      html += `<br>${esc(label("Lead"))}${colon}${lead ? esc(lead.full_name) : esc(label("None"))}`;
      html += `<br>${esc(label("Workers"))}${colon}${others.length ? others.join("、") : esc(label("None"))}`;
    }
    html += `<br><a href="/units/${props.code}">${esc(label("Open"))}</a>`;
    layer.setPopupContent(html);
  }

  fetch("/api/v1/units/export", { headers: { Accept: "application/geo+json" } })
    .then((r) => r.json())
    .then((fc) => {
      const order = ["district", "street", "community", "grid"];
      fc.features.sort((a, b) => order.indexOf(a.properties.level) - order.indexOf(b.properties.level));
      const layer = L.geoJSON(fc, {
        filter: (f) => f.geometry,
        style: (f) => ({ ...styles[f.properties.level], className: `unit unit-${f.properties.level}` }),
        onEachFeature: (f, l) => {
          byCode[f.properties.code] = l;
          l.feature = f;
          if (f.properties.level === "grid") {
            l.bindPopup(esc(f.properties.name));
            l.on("click", () => popup(l, f.properties));
          }
        },
      }).addTo(map);
      const bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds); else map.setView([27.11, 114.98], 13);
      el.dataset.grids = fc.features.filter((f) => f.properties.level === "grid").length;
      el.classList.add("loaded");
    });

  document.querySelectorAll(".unit-link").forEach((a) => {
    a.addEventListener("click", (ev) => {
      const l = byCode[a.dataset.code];
      if (!l) return;
      ev.preventDefault();
      map.fitBounds(l.getBounds());
      if (l.feature.properties.level === "grid") { l.openPopup(); popup(l, l.feature.properties); }
    });
  });
})();
