// The care figures page: visits by kind, people in care by level and tag, the child units side by side, and the
// flow of charity supermarket points (ECharts). The numbers come from the JSON block the page carries; every
// number is also in the page's cards and table, each linking to the list behind it.
(function () {
  const dataEl = document.getElementById("care-figures-data");
  if (!dataEl || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  const charts = [];

  function chart(id, option) {
    const el = document.getElementById(id);
    if (!el) return;
    const c = echarts.init(el);
    c.setOption(option);
    charts.push(c);
  }

  chart("chart-visits", {
    grid: { left: 48, right: 16, top: 32, bottom: 40 },
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    xAxis: { type: "category", data: data.visit.map((v) => v.name) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.series.visits, type: "bar", data: data.visit.map((v) => v.visits), itemStyle: { color: "#b23a2e" } },
      { name: data.series.confirmed, type: "bar", data: data.visit.map((v) => v.confirmed), itemStyle: { color: "#1e8449" } },
    ],
  });

  chart("chart-people", {
    tooltip: { trigger: "item" },
    grid: { left: "52%", right: 16, top: 16, bottom: 24 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.tag.map((t) => t.name), axisLabel: { width: 80, overflow: "truncate" } },
    series: [
      { type: "pie", radius: ["25%", "55%"], center: ["24%", "50%"], data: data.level.map((l) => ({ name: l.name, value: l.value })),
        color: ["#7fb3d5", "#f5b041", "#c0392b"], label: { formatter: "{b}\n{c}" } },
      { type: "bar", data: data.tag.map((t) => t.value), itemStyle: { color: "#2e86c1" }, label: { show: true, position: "right" } },
    ],
  });

  if (data.children.names.length) {
    const many = data.children.names.length > 12;
    chart("chart-children", {
      grid: { left: 48, right: 16, top: 32, bottom: many ? 90 : 70 },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: data.children.names, axisLabel: { rotate: 40, interval: 0, width: 90, overflow: "truncate" } },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: many ? [{ type: "slider", start: 0, end: Math.round((12 / data.children.names.length) * 100), height: 16, bottom: 8 }] : [],
      series: [
        { name: data.series.people, type: "bar", data: data.children.people, itemStyle: { color: "#2e86c1" } },
        { name: data.series.visits, type: "bar", data: data.children.visits, itemStyle: { color: "#b23a2e" } },
        { name: data.series.open, type: "bar", data: data.children.open, itemStyle: { color: "#e67e22" } },
      ],
    });
  }

  chart("chart-points", {
    grid: { left: 64, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.points.map((p) => p.name), axisLabel: { interval: 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: data.points.map((p, i) => ({ value: p.value, itemStyle: { color: ["#1e8449", "#27ae60", "#b23a2e", "#7f8c8d"][i] } })),
               label: { show: true, position: "top" } }],
  });

  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
