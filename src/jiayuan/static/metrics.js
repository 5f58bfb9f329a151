// The case metrics page: a bar chart of the on-time closure rate by unit, a pie of the ratings (ECharts), and a
// map of the period's located cases coloured by status (Leaflet; the points come from a small JSON endpoint).
(function () {
  const dataEl = document.getElementById("metrics-data");
  if (!dataEl) return;
  const data = JSON.parse(dataEl.textContent);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const charts = [];

  function barChart() {
    const el = document.getElementById("chart-closure");
    if (!el || !window.echarts) return;
    const chart = echarts.init(el);
    // Long unit lists scroll instead of squeezing the labels: show about 12 bars at a time.
    const many = data.units.length > 12;
    chart.setOption({
      grid: { left: 40, right: 16, top: 16, bottom: many ? 90 : 70 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : v + "%") },
      xAxis: { type: "category", data: data.units, axisLabel: { rotate: 40, interval: 0, width: 90, overflow: "truncate" } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      dataZoom: many ? [{ type: "slider", start: 0, end: Math.round((12 / data.units.length) * 100), height: 16, bottom: 8 }] : [],
      series: [{ type: "bar", data: data.closed_on_time_rate, itemStyle: { color: "#b23a2e" },
                 label: { show: !many, position: "top", formatter: (p) => (p.value == null ? "—" : p.value + "%") } }],
    });
    charts.push(chart);
  }

  function pieChart() {
    const el = document.getElementById("chart-satisfaction");
    if (!el || !window.echarts) return;
    const chart = echarts.init(el);
    chart.setOption({
      color: ["#1e8449", "#f1c40f", "#c0392b"],
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0 },
      // Counts inside the ring and names in the legend: outside labels get cut off on a phone.
      series: [{ type: "pie", radius: ["35%", "70%"], center: ["50%", "45%"], data: data.satisfaction,
                 label: { position: "inside", formatter: (p) => (p.value ? `${p.value}\n${p.percent}%` : ""), color: "#fff" } }],
    });
    charts.push(chart);
  }

  // One colour per status, in the order of the loop: waiting → working → done, voided grey.
  const COLOURS = {
    reported: "#8e44ad", accepted: "#9b59b6", registered: "#2980b9", dispatched: "#3498db",
    in_progress: "#e67e22", handled: "#16a085", checking: "#1abc9c", closed: "#1e8449",
    suspended: "#7f8c8d", voided: "#bdc3c7",
  };

  function caseMap() {
    const el = document.getElementById("metrics-map");
    if (!el || !window.L) return;
    const map = L.map(el);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution }).addTo(map);
    }
    map.setView([27.11, 114.98], 12);
    const note = document.getElementById("metrics-map-note");
    fetch(el.dataset.pointsUrl, { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => {
        const layer = L.featureGroup();
        const seen = {};
        for (const [number, lat, lon, status] of body.points) {
          seen[status] = (seen[status] || 0) + 1;
          L.circleMarker([lat, lon], { radius: 5, weight: 1, color: "#fff", fillColor: COLOURS[status] || "#555", fillOpacity: 0.9 })
            .bindPopup(`<a href="/cases/${encodeURIComponent(number)}">${esc(number)}</a><br>${esc(data.statuses[status] || status)}<br><a href="/cases/${encodeURIComponent(number)}">${esc(el.dataset.labelOpen)}</a>`)
            .addTo(layer);
        }
        layer.addTo(map);
        if (body.points.length) map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [12, 12] });
        note.textContent = body.truncated ? el.dataset.labelTruncated : body.points.length ? "" : el.dataset.labelNone;
        document.getElementById("metrics-legend").innerHTML = Object.keys(COLOURS).filter((s) => seen[s])
          .map((s) => `<li><i style="background:${COLOURS[s]}"></i>${esc(data.statuses[s] || s)} ${seen[s]}</li>`).join("");
        el.dataset.points = body.points.length;
        el.classList.add("loaded");
      })
      .catch(() => { note.textContent = el.dataset.labelNone; });
  }

  barChart();
  pieChart();
  caseMap();
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
