"""The public showcase page (/showcase): 三峡库区对口支援消费帮扶成果展示 for the center's screens and visitors.

HTML and static files only; the browser draws the charts (Apache ECharts, served by the app) from the public
statistics, campaign and catalog APIs. No model and no service of its own."""
