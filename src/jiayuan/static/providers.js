// Provider performance: mean rating and completion rate per provider as bars (ECharts), from a JSON block.
(function () {
  const dataEl = document.getElementById("performance-data");
  const el = document.getElementById("chart-providers");
  if (!dataEl || !el || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  if (!data.providers.length) { el.remove(); return; }
  const chart = echarts.init(el);
  const many = data.providers.length > 12;
  chart.setOption({
    grid: { left: 40, right: 40, top: 30, bottom: many ? 90 : 70 },
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: [data.rating, data.completion] },
    xAxis: { type: "category", data: data.providers.map((p) => p.name), axisLabel: { rotate: 40, interval: 0, width: 90, overflow: "truncate" } },
    yAxis: [{ type: "value", min: 0, max: 5 }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
    dataZoom: many ? [{ type: "slider", start: 0, end: Math.round((12 / data.providers.length) * 100), height: 16, bottom: 8 }] : [],
    series: [
      { name: data.rating, type: "bar", data: data.providers.map((p) => p.rating), itemStyle: { color: "#b23a2e" } },
      { name: data.completion, type: "bar", yAxisIndex: 1, data: data.providers.map((p) => p.completion), itemStyle: { color: "#1f618d" } },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
})();
