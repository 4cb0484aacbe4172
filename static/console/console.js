/* The brand console: a small single-page app on the public JSON API (/api/v1), with the staff
   token in sessionStorage. No framework, no build step, no external request. */
"use strict";

(function () {
  const API = "/api/v1";
  const store = window.sessionStorage;
  const state = {
    token: store.getItem("console.token"),
    staff: JSON.parse(store.getItem("console.staff") || "null"),
    lang: window.localStorage.getItem("console.lang") || document.body.dataset.lang || "zh-CN",
    charts: [],
    paths: null, // the API's paths, from its OpenAPI document: the console calls nothing else
  };

  async function loadPaths() {
    if (state.paths) return;
    const response = await fetch("/api/openapi.json");
    const spec = response.ok ? await response.json() : { paths: {} };
    state.paths = new Set(Object.keys(spec.paths || {}));
  }

  // Whether the server offers ``path`` (e.g. "/reports/channel-funnel", "/payouts/{payout_id}").
  function offers(path) {
    const wanted = (API + path).replace(/\{[^}]+\}/g, "{}");
    for (const p of state.paths || []) if (p.replace(/\{[^}]+\}/g, "{}") === wanted) return true;
    return false;
  }

  // --- words, roles ------------------------------------------------------------------------

  function t(key) {
    return (window.I18N[state.lang] || {})[key] || window.I18N.en[key] || key;
  }

  // What each role may change (API.md, roles); analysts read everything and change nothing.
  const WRITERS = {
    campaigns: ["owner", "marketer"],
    codes: ["owner", "operator"],
    payouts: ["owner", "operator"],
    fraud: ["owner", "operator"],
    rules: ["owner"],
    segments: ["owner", "marketer", "analyst"],
    provenance: ["owner", "operator"],
    channel: ["owner", "operator"],
  };

  function can(area) {
    return !!state.staff && (WRITERS[area] || []).includes(state.staff.role);
  }

  // Pages whose reads are limited to some roles (the rest any staff member may read).
  const READERS = { segments: ["owner", "marketer", "analyst"], fraud: ["owner", "operator", "analyst"] };

  function mayRead(area) {
    return !!state.staff && (!READERS[area] || READERS[area].includes(state.staff.role));
  }

  // --- DOM helpers -------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function field(label, input, name) {
    const id = "f-" + (name || Math.random().toString(36).slice(2));
    input.id = id;
    if (name) input.name = name;
    return h("div", { class: "field", "data-field": name || "" },
      h("label", { for: id }, label), input, h("span", { class: "field-error", "aria-live": "polite" }));
  }

  function toast(message, bad) {
    const el = document.getElementById("toast");
    el.textContent = message;
    el.className = bad ? "show bad" : "show";
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(() => { el.className = ""; }, 4000);
  }

  function money(fen) {
    return (Number(fen || 0) / 100).toFixed(2);
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(state.lang) : "";
  }

  function table(headers, rows) {
    if (!rows.length) return h("p", { class: "muted" }, t("noData"));
    return h("table", {},
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
  }

  // --- the API -----------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    if (response.status === 401 && path !== "/auth/token") {
      expire();
      const error = new Error(t("sessionExpired"));
      error.expired = true; // the login page says so already; whoever called stops here
      throw error;
    }
    return { ok: response.ok, status: response.status, data, headers: response.headers };
  }

  async function get(path) {
    const r = await api("GET", path);
    return r.ok ? r.data : null;
  }

  // Field errors of the envelope ({"errors": {"json": {"field": [...]}}}) next to their fields.
  function showErrors(form, result) {
    form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
    const box = form.querySelector(".form-error");
    const data = result.data || {};
    if (box) box.textContent = data.message || t("failed");
    const flat = {};
    (function walk(obj, prefix) {
      for (const [k, v] of Object.entries(obj || {})) {
        const key = prefix ? prefix + "." + k : k;
        if (Array.isArray(v) && v.every((x) => typeof x === "string")) flat[key] = v.join(" ");
        else if (v && typeof v === "object") walk(v, k === "json" || k === "query" ? "" : key);
      }
    })(data.errors, "");
    for (const [name, message] of Object.entries(flat)) {
      const slot = form.querySelector(`[data-field="${name.split(".")[0]}"] .field-error`);
      if (slot) slot.textContent = message;
    }
  }

  function expire() {
    state.token = null;
    store.removeItem("console.token");
    store.setItem("console.return", location.hash || "#/dashboard");
    keepTyped();
    renderLogin(t("sessionExpired"));
  }

  // What was typed on the page when the session expired, put back once the page is shown again.
  function keepTyped() {
    const values = {};
    document.querySelectorAll("#main input[id], #main select[id], #main textarea[id]").forEach((el) => {
      if (el.type !== "password" && el.type !== "file" && el.value !== "") values[el.id] = el.value;
    });
    if (Object.keys(values).length) store.setItem("console.typed", JSON.stringify({ hash: location.hash, values }));
  }

  function restoreTyped() {
    const typed = JSON.parse(store.getItem("console.typed") || "null");
    if (!typed || typed.hash !== location.hash) return;
    store.removeItem("console.typed");
    for (const [id, value] of Object.entries(typed.values)) {
      const el = document.getElementById(id);
      if (!el || el.type === "file") continue;
      el.value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  // --- login, frame --------------------------------------------------------------------------

  function renderLogin(message) {
    chrome(false);
    const email = h("input", { type: "email", required: true, autocomplete: "username" });
    const password = h("input", { type: "password", required: true, autocomplete: "current-password" });
    const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title" }, t("login")),
      message ? h("p", { class: "notice" }, message) : null,
      field(t("email"), email, "email"), field(t("password"), password, "password"),
      h("p", { class: "form-error", "aria-live": "assertive" }),
      h("button", { type: "submit" }, t("signIn")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const r = await api("POST", "/auth/token", { email: email.value, password: password.value });
      if (!r.ok) return showErrors(form, r);
      state.token = r.data.access_token;
      state.staff = r.data.staff;
      store.setItem("console.token", state.token);
      store.setItem("console.staff", JSON.stringify(state.staff));
      const back = store.getItem("console.return") || "#/dashboard";
      store.removeItem("console.return");
      if (location.hash === back) route(); else location.hash = back;
    });
    mount(form);
    email.focus();
  }

  const PAGES = [
    ["dashboard", "#/dashboard"], ["codes", "#/codes"], ["campaigns", "#/campaigns"],
    ["payouts", "#/payouts"], ["fraud", "#/fraud"], ["segments", "#/segments"],
    ["provenance", "#/provenance"], ["channel", "#/channel"],
  ];

  function chrome(loggedIn) {
    document.documentElement.lang = state.lang;
    document.getElementById("lang-switch").textContent = t("switchTo");
    const logout = document.getElementById("logout");
    logout.textContent = t("logout");
    logout.hidden = !loggedIn;
    const nav = document.getElementById("nav");
    nav.hidden = !loggedIn;
    nav.replaceChildren(...PAGES.filter(([key]) => mayRead(key)).map(([key, href]) => h("a", {
      href, "aria-current": location.hash.startsWith(href) ? "page" : null,
    }, t(key))));
    document.getElementById("brand-name").textContent =
      loggedIn && state.staff ? "一物一码 · " + state.staff.brand : "一物一码";
  }

  function mount(...nodes) {
    state.charts.forEach((c) => c.dispose());
    state.charts = [];
    const main = document.getElementById("main");
    main.replaceChildren(...nodes);
  }

  function chart(el, option) {
    const instance = window.echarts.init(el, null, { renderer: "canvas" });
    instance.setOption(option);
    state.charts.push(instance);
    return instance;
  }

  function chartBox(title, id, extra) {
    return h("section", { class: "card chart-card", "aria-labelledby": id + "-title" },
      h("h2", { id: id + "-title" }, title), extra || null,
      h("div", { class: "chart", id, role: "img", "aria-label": title }));
  }

  // --- dashboard ---------------------------------------------------------------------------

  const PROVINCE_SUFFIX = /(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$/;

  async function renderDashboard() {
    const tiles = h("div", { class: "tiles" });
    mount(h("h1", {}, t("dashboard")), tiles, h("div", { class: "grid" },
      chartBox(t("scansPerDay"), "chart-days"), chartBox(t("scansByProvince"), "chart-map"),
      chartBox(t("topProducts"), "chart-products"), chartBox(t("spendVsBudget"), "chart-spend"),
      chartBox(t("payoutsByStatus"), "chart-payouts"), chartBox(t("channelFunnel"), "chart-funnel")));
    const hasFunnel = offers("/reports/channel-funnel");
    if (!hasFunnel) document.getElementById("chart-funnel").closest("section").remove();
    const [days, provinces, products, overview, funnel] = await Promise.all([
      get("/reports/scans?group_by=day&with_consumers=false"),
      get("/reports/scans?group_by=province&with_consumers=false"),
      get("/reports/scans?group_by=product&with_consumers=false"), get("/reports/overview"),
      hasFunnel ? get("/reports/channel-funnel?group_by=province") : null,
    ]);
    const totalScans = (days || []).reduce((n, d) => n + d.scans, 0);
    tiles.replaceChildren(
      h("div", { class: "tile" }, h("span", {}, t("scans")), h("strong", { id: "tile-scans" }, totalScans)),
      h("a", { class: "tile", href: "#/fraud" }, h("span", {}, t("openCases")),
        h("strong", { id: "tile-cases" }, overview ? overview.open_fraud_cases : "–")));
    const verdicts = ["authentic", "suspect_copy", "counterfeit"];
    chart(document.getElementById("chart-days"), {
      tooltip: { trigger: "axis" }, legend: { data: verdicts.map(t) },
      xAxis: { type: "category", data: (days || []).map((d) => d.key) }, yAxis: { type: "value" },
      series: verdicts.map((v) => ({ name: t(v), type: "bar", stack: "v", data: (days || []).map((d) => d[v]) })),
    });
    const mapData = (provinces || []).filter((p) => p.key).map((p) => ({
      name: p.key.replace(PROVINCE_SUFFIX, ""), value: p.scans, full: p.key,
    }));
    const map = chart(document.getElementById("chart-map"), {
      tooltip: { trigger: "item" },
      visualMap: { min: 0, max: Math.max(1, ...mapData.map((d) => d.value)), left: "left", bottom: 0, calculable: true },
      series: [{ name: t("scans"), type: "map", map: "china", roam: true, data: mapData }],
    });
    map.on("click", (params) => {
      const hit = mapData.find((d) => d.name === params.name);
      if (hit) renderCities(hit.full);
    });
    chart(document.getElementById("chart-products"), {
      tooltip: {}, xAxis: { type: "value" },
      yAxis: { type: "category", data: (products || []).map((p) => p.label || p.key) },
      series: [{ name: t("scans"), type: "bar", data: (products || []).map((p) => p.scans) }],
    });
    const live = overview ? overview.campaigns : [];
    chart(document.getElementById("chart-spend"), {
      tooltip: { trigger: "axis" }, legend: { data: [t("spent"), t("forecast"), t("budget")] },
      xAxis: { type: "category", data: live.map((c) => c.name), axisLabel: { interval: 0, overflow: "truncate", width: 160 } },
      yAxis: { type: "value" },
      series: [
        { name: t("spent"), type: "bar", data: live.map((c) => c.spent) },
        { name: t("forecast"), type: "bar", data: live.map((c) => c.forecast_at_end ?? c.spent) },
        { name: t("budget"), type: "bar", data: live.map((c) => c.budget) },
      ],
    });
    chart(document.getElementById("chart-payouts"), {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: "60%", data: (overview ? overview.payouts : []).map((p) => ({ name: p.status, value: p.count })) }],
    });
    if (hasFunnel) funnelChart(document.getElementById("chart-funnel"), funnel || [], (r) => r.key || "—");
  }

  async function renderCities(province) {
    const rows = await get(`/reports/scans?group_by=city&with_consumers=false&province=${encodeURIComponent(province)}`) || [];
    mount(h("h1", {}, t("citiesOf") + province),
      h("p", {}, h("a", { href: "#/dashboard" }, t("back"))),
      chartBox(province, "chart-cities"));
    chart(document.getElementById("chart-cities"), {
      tooltip: {}, xAxis: { type: "category", data: rows.map((r) => r.key) }, yAxis: { type: "value" },
      series: [{ name: t("scans"), type: "bar", data: rows.map((r) => r.scans) }],
    });
  }

  // --- products, lots and code batches -------------------------------------------------------

  function simpleForm(title, fields, submitLabel, onSubmit) {
    const inputs = {};
    const form = h("form", { class: "card" }, h("h2", {}, title),
      fields.map(([name, label, type, opts]) => {
        const input = type === "select"
          ? h("select", {}, opts.map(([v, l]) => h("option", { value: v }, l)))
          : h("input", { type: type || "text", ...(opts || {}) });
        inputs[name] = input;
        return field(label, input, name);
      }),
      h("p", { class: "form-error", "aria-live": "assertive" }),
      h("button", { type: "submit" }, submitLabel));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, input] of Object.entries(inputs)) {
        if (input.value !== "") values[name] = input.type === "number" ? Number(input.value) : input.value;
      }
      const r = await onSubmit(values);
      if (r && !r.ok) showErrors(form, r);
      else { toast(t("saved")); form.reset(); }
    });
    return form;
  }

  async function renderCodes() {
    const products = await get("/products?page_size=200") || [];
    const list = h("section", { class: "card" }, h("h2", {}, t("products")),
      table([t("name"), t("gtin"), t("category"), ""], products.map((p) => [
        p.name, p.gtin, p.category || "", h("a", { href: `#/codes/products/${p.id}` }, t("open"))])));
    const lookup = h("input", { type: "text", "aria-label": t("batchLookup"), placeholder: t("batchLookup") });
    const go = h("form", { class: "inline" }, lookup, h("button", { type: "submit" }, t("open")));
    go.addEventListener("submit", (e) => { e.preventDefault(); location.hash = `#/codes/batches/${lookup.value.trim()}`; });
    mount(h("h1", {}, t("codes")), list, h("section", { class: "card" }, h("h2", {}, t("batches")), go),
      can("codes") ? simpleForm(t("newProduct"), [
        ["name", t("name"), "text", { required: true }], ["gtin", t("gtin"), "text", { required: true, inputmode: "numeric" }],
        ["sku", t("sku")], ["category", t("category")],
      ], t("create"), async (v) => { const r = await api("POST", "/products", v); if (r.ok) renderCodes(); return r; }) : null);
  }

  async function renderProduct(id) {
    const product = await get(`/products/${id}`);
    if (!product) return mount(h("p", {}, t("noData")));
    const forms = [];
    if (can("codes")) {
      forms.push(simpleForm(t("newLot"), [
        ["lot", t("lot"), "text", { required: true }], ["production_date", t("productionDate"), "date", { required: true }],
        ["expiry_date", t("expiryDate"), "date"],
      ], t("create"), (v) => api("POST", `/products/${id}/batches`, v)));
      forms.push(simpleForm(t("newBatch"), [
        ["quantity", t("quantity"), "number", { required: true, min: 1, max: 10000000 }], ["batch_id", t("lotId")],
      ], t("create"), async (v) => {
        const r = await api("POST", "/code-batches", { ...v, product_id: id });
        if (r.ok) location.hash = `#/codes/batches/${r.data.id}`;
        return r;
      }));
    }
    mount(h("h1", {}, product.name), h("p", {}, `${t("gtin")} ${product.gtin}`),
      h("p", {}, h("a", { href: "#/codes" }, t("back"))), ...forms);
  }

  async function download(path, filename, expectedBytes, progress) {
    const response = await fetch(API + path, { headers: { Authorization: "Bearer " + state.token } });
    if (response.status === 401) return expire();
    if (!response.ok) { toast(t("failed"), true); return; }
    const reader = response.body.getReader();
    const parts = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      progress.value = Math.min(99, Math.round((100 * received) / expectedBytes));
    }
    progress.value = 100;
    const url = URL.createObjectURL(new Blob(parts, { type: response.headers.get("Content-Type") }));
    const a = h("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function renderBatch(id) {
    const batch = await get(`/code-batches/${id}`);
    if (!batch) return mount(h("p", {}, t("noData")), h("a", { href: "#/codes" }, t("back")));
    const progress = h("progress", { max: 100, value: 0, "aria-label": t("downloading") });
    const actions = [];
    if (can("codes")) {
      if (batch.status === "generated") actions.push(h("button", { type: "button", onclick: async () => {
        const r = await api("POST", `/code-batches/${id}/activate`);
        if (r.ok) renderBatch(id); else toast(r.data && r.data.message, true);
      } }, t("activate")));
      if (batch.status !== "revoked") {
        const reason = h("input", { type: "text", "aria-label": t("reason"), placeholder: t("reason") });
        actions.push(reason, h("button", { type: "button", class: "danger", onclick: async () => {
          if (!window.confirm(t("confirmRevoke"))) return;
          const r = await api("POST", `/code-batches/${id}/revoke`, { reason: reason.value || "revoked" });
          if (r.ok) renderBatch(id); else toast(r.data && r.data.message, true);
        } }, t("revoke")));
      }
      actions.push(h("button", { type: "button", onclick: () =>
        download(`/code-batches/${id}/export`, `codes-${id}.csv`, batch.quantity * 90, progress) }, t("download")), progress);
      actions.push(h("button", { type: "button", onclick: () =>
        download(`/code-batches/${id}/labels.svg?start=0&count=${Math.min(batch.quantity, 40)}`, `labels-${id}.svg`, 200000, progress) }, t("labels")));
    }
    mount(h("h1", {}, `${t("batches")} ${id}`), h("p", {}, h("a", { href: "#/codes" }, t("back"))),
      h("section", { class: "card" }, table([t("quantity"), t("status"), t("created")],
        [[batch.quantity, t(batch.status), when(batch.created_at)]]), h("div", { class: "actions" }, actions)));
  }

  // --- campaigns ---------------------------------------------------------------------------

  async function renderCampaigns() {
    const rows = await get("/campaigns?page_size=200") || [];
    mount(h("h1", {}, t("campaigns")),
      can("campaigns") ? h("p", {}, h("a", { class: "button", href: "#/campaigns/new" }, t("newCampaign"))) : null,
      h("section", { class: "card" }, table([t("name"), t("kind"), t("status"), t("spent"), t("budget"), ""],
        rows.map((c) => [c.name, t(c.kind), t(c.status), c.spent_fen ?? c.spent_points ?? 0,
          c.budget_fen ?? c.budget_points, h("a", { href: `#/campaigns/${c.id}` }, t("open"))]))));
  }

  function localInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }

  function prizeRow(kind, prize) {
    const ranged = prize && (prize.min_amount_fen !== undefined || prize.min_points !== undefined);
    const mode = h("select", { "aria-label": t("fixed") + "/" + t("range") },
      h("option", { value: "fixed" }, t("fixed")), h("option", { value: "range" }, t("range")));
    mode.value = ranged ? "range" : "fixed";
    const unit = kind === "points" ? "points" : "amount_fen";
    const amount = h("input", { type: "number", min: 1, "aria-label": t(kind === "points" ? "pointsAmt" : "amountFen"), placeholder: t(kind === "points" ? "pointsAmt" : "amountFen"), class: "amount", value: prize ? (prize[unit] ?? "") : "" });
    const min = h("input", { type: "number", min: 1, "aria-label": t(kind === "points" ? "minPoints" : "minFen"), placeholder: t(kind === "points" ? "minPoints" : "minFen"), class: "min", value: prize ? (prize.min_amount_fen ?? prize.min_points ?? "") : "" });
    const max = h("input", { type: "number", min: 1, "aria-label": t(kind === "points" ? "maxPoints" : "maxFen"), placeholder: t(kind === "points" ? "maxPoints" : "maxFen"), class: "max", value: prize ? (prize.max_amount_fen ?? prize.max_points ?? "") : "" });
    const probability = h("input", { type: "number", min: 0, max: 100, step: "0.0001", "aria-label": t("probability"), placeholder: t("probability"), class: "probability", value: prize ? +(prize.probability * 100).toFixed(4) : "" });
    const quantity = h("input", { type: "number", min: 1, "aria-label": t("tierQuantity"), placeholder: t("tierQuantity"), class: "quantity", value: prize && prize.quantity ? prize.quantity : "" });
    const row = h("div", { class: "prize-row" }, mode, amount, min, max, probability, quantity,
      h("button", { type: "button", class: "link", onclick: () => row.remove() }, t("remove")));
    const sync = () => { amount.hidden = mode.value === "range"; min.hidden = max.hidden = mode.value !== "range"; };
    mode.addEventListener("change", sync);
    sync();
    row.read = () => {
      const p = { probability: Number(probability.value) / 100 };
      if (quantity.value) p.quantity = Number(quantity.value);
      if (mode.value === "range") {
        p[kind === "points" ? "min_points" : "min_amount_fen"] = Number(min.value);
        p[kind === "points" ? "max_points" : "max_amount_fen"] = Number(max.value);
      } else p[unit] = Number(amount.value);
      return p;
    };
    return row;
  }

  async function renderCampaign(id) {
    const existing = id === "new" ? null : await get(`/campaigns/${id}`);
    const draftKey = "console.draft." + id;
    const draft = JSON.parse(store.getItem(draftKey) || "null");
    const c = draft || existing || { kind: "red_packet", prizes: [{ amount_fen: 88, probability: 0.2 }] };
    const editable = can("campaigns") && (!existing || existing.status !== "ended");
    const name = h("input", { type: "text", required: true, value: c.name || "" });
    const kind = h("select", { disabled: existing ? true : null },
      h("option", { value: "red_packet" }, t("red_packet")), h("option", { value: "points" }, t("points")));
    kind.value = c.kind;
    const budget = h("input", { type: "number", min: 1, required: true, value: c.budget_fen ?? c.budget_points ?? "" });
    const starts = h("input", { type: "datetime-local", required: true, value: localInput(c.starts_at) });
    const ends = h("input", { type: "datetime-local", required: true, value: localInput(c.ends_at) });
    const perDay = h("input", { type: "number", min: 1, value: (c.limits || {}).per_consumer_per_day || "" });
    const perTotal = h("input", { type: "number", min: 1, value: (c.limits || {}).per_consumer_total || "" });
    const prizes = h("div", { class: "prizes", "data-field": "prizes" }, (c.prizes || []).map((p) => prizeRow(c.kind, p)));
    const form = h("form", { class: "card" },
      h("h2", {}, existing ? existing.name : t("newCampaign")),
      field(t("name"), name, "name"), field(t("kind"), kind, "kind"),
      field(t("budget"), budget, "budget_fen"), field(t("startsAt"), starts, "starts_at"),
      field(t("endsAt"), ends, "ends_at"), field(t("perDay"), perDay, "limits"), field(t("perTotal"), perTotal, "per_consumer_total"),
      h("fieldset", {}, h("legend", {}, t("prizes")), prizes,
        h("span", { class: "field-error", "data-field": "prizes" }),
        editable ? h("button", { type: "button", class: "link", onclick: () => prizes.append(prizeRow(kind.value)) }, t("addPrize")) : null),
      h("p", { class: "form-error", "aria-live": "assertive" }),
      editable ? h("button", { type: "submit" }, existing ? t("save") : t("saveDraft")) : null);
    const body = () => {
      const b = {
        name: name.value, kind: kind.value,
        starts_at: starts.value ? new Date(starts.value).toISOString() : null,
        ends_at: ends.value ? new Date(ends.value).toISOString() : null,
        prizes: [...prizes.children].map((r) => r.read()),
        limits: {},
      };
      b[kind.value === "points" ? "budget_points" : "budget_fen"] = Number(budget.value);
      if (perDay.value) b.limits.per_consumer_per_day = Number(perDay.value);
      if (perTotal.value) b.limits.per_consumer_total = Number(perTotal.value);
      return b;
    };
    form.addEventListener("input", () => store.setItem(draftKey, JSON.stringify(body())));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const b = body();
      if (existing) delete b.kind;
      const r = existing ? await api("PATCH", `/campaigns/${id}`, b) : await api("POST", "/campaigns", b);
      if (!r.ok) return showErrors(form, r);
      store.removeItem(draftKey);
      toast(t("saved"));
      if (!existing) location.hash = `#/campaigns/${r.data.id}`; else renderCampaign(id);
    });
    if (!editable) form.querySelectorAll("input, select").forEach((el) => { el.disabled = true; });
    const parts = [h("h1", {}, t("campaign")), h("p", {}, h("a", { href: "#/campaigns" }, t("back"))), form];
    if (existing) parts.push(lifecycle(existing), simulation(existing), await campaignReport(existing));
    if (existing && offers("/campaigns/{id}/reconciliation")) parts.push(await reconciliation(existing));
    mount(...parts);
  }

  function lifecycle(c) {
    if (!can("campaigns")) return h("p", { class: "muted" }, `${t("status")}: ${t(c.status)}`);
    const next = { draft: ["activate"], active: ["pause", "end"], paused: ["activate", "end"], ended: [] }[c.status] || [];
    return h("section", { class: "card actions", "aria-label": t("status") },
      h("span", {}, `${t("status")}: `, h("strong", { id: "campaign-status" }, t(c.status))),
      next.map((action) => h("button", { type: "button", "data-action": action, onclick: async (event) => {
        const r = await api("POST", `/campaigns/${c.id}/${action}`);
        if (r.ok) renderCampaign(c.id);
        else { event.target.after(h("span", { class: "field-error" }, r.data ? r.data.message : t("failed"))); }
      } }, t(action))));
  }

  function simulation(c) {
    const perDay = h("input", { type: "number", min: 1, value: 1000, "aria-label": t("scansPerDaySim") });
    const out = h("div", { class: "chart", id: "chart-simulation", role: "img", "aria-label": t("simulate") });
    const facts = h("p", { id: "simulation-facts" });
    const run = async () => {
      const r = await api("POST", `/campaigns/${c.id}/simulate`, { scans_per_day: Number(perDay.value) });
      if (!r.ok) return toast(r.data ? r.data.message : t("failed"), true);
      const s = r.data;
      facts.textContent = `${t("exhaustedOn")}: ${s.budget_exhausted_on || "—"} · ${t("fraudAdjusted")}: ${s.fraud ? Math.round(s.fraud.expected_total_spend) : "—"}`;
      chart(out, {
        tooltip: { trigger: "axis" }, legend: { data: [t("expectedSpend"), t("budget")] },
        xAxis: [{ type: "category", data: s.days.map((d) => d.date) }],
        yAxis: [{ type: "value" }],
        series: [
          { name: t("expectedSpend"), type: "bar", data: s.days.map((d) => Math.round(d.spend)) },
          { name: t("budget"), type: "line", data: s.days.map((d) => Math.round(d.remaining_budget)) },
        ],
      });
      const tiers = h("div", { class: "chart small", id: "chart-tiers", role: "img", "aria-label": t("tierWinners") });
      out.after(tiers);
      chart(tiers, {
        tooltip: {}, xAxis: { type: "category", data: s.tiers.map((x, i) => "#" + (i + 1)) }, yAxis: { type: "value" },
        series: [{ name: t("tierWinners"), type: "bar", data: s.tiers.map((x) => Math.round(x.expected_winners)) }],
      });
    };
    return h("section", { class: "card" }, h("h2", {}, t("simulate")),
      h("div", { class: "inline" }, perDay, h("button", { type: "button", id: "run-simulation", onclick: run }, t("simulate"))),
      facts, out);
  }

  async function campaignReport(c) {
    const r = await get(`/reports/campaigns/${c.id}`);
    if (!r) return h("section", { class: "card" }, h("h2", {}, t("report")), h("p", { class: "muted" }, t("noData")));
    return h("section", { class: "card" }, h("h2", {}, t("report")),
      r.warnings.map((w) => h("p", { class: "notice" }, w.message)),
      table([t("spendByDay"), t("amount"), t("awards")], r.spend_by_day.map((d) => [d.day, d.amount, d.awards])));
  }

  async function reconciliation(c) {
    const r = await get(`/campaigns/${c.id}/reconciliation`);
    if (!r) return h("section", { class: "card" }, h("h2", {}, t("reconciliation")), h("p", { class: "muted" }, t("noData")));
    const keys = Object.keys(r).filter((k) => k.endsWith("_fen"));
    return h("section", { class: "card", id: "reconciliation" }, h("h2", {}, t("reconciliation")),
      table(keys, [keys.map((k) => money(r[k]))]),
      (r.mismatches || []).length ? h("pre", {}, JSON.stringify(r.mismatches, null, 2)) : null);
  }

  // --- awards and payouts ------------------------------------------------------------------

  async function renderPayouts() {
    const status = new URLSearchParams(location.hash.split("?")[1] || "").get("status") || "";
    const awards = await get(`/awards?page_size=200${status ? "&status=" + status : ""}`) || [];
    const select = h("select", { "aria-label": t("status") },
      ["", "pending", "held", "awaiting_user", "paid", "failed", "cancelled"].map((s) => h("option", { value: s }, s || t("all"))));
    select.value = status;
    select.addEventListener("change", () => { location.hash = `#/payouts?status=${select.value}`; });
    mount(h("h1", {}, t("payouts")), h("div", { class: "inline" }, h("span", {}, t("filter")), select),
      h("section", { class: "card" }, table([t("created"), t("kind"), t("amount"), t("status"), t("payout"), ""],
        awards.map((a) => [when(a.created_at), t(a.kind), a.amount_fen ?? a.points, a.status,
          a.payout ? a.payout.status : "", a.payout && a.payout.id ? h("a", { href: `#/payouts/${a.payout.id}` }, t("history")) : ""]))));
  }

  async function renderPayout(id) {
    if (!offers("/payouts/{id}")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const r = await api("GET", `/payouts/${id}`);
    if (!r.ok) return mount(h("p", {}, r.status === 404 ? t("notAvailable") : t("failed")));
    const p = r.data;
    mount(h("h1", {}, `${t("payout")} ${p.out_trade_no || id}`), h("p", {}, h("a", { href: "#/payouts" }, t("back"))),
      h("section", { class: "card" }, table([t("status"), t("amount"), "provider", "attempts", "last_error"],
        [[p.status, money(p.amount_fen), p.provider, p.attempts, p.last_error || ""]]),
        can("payouts") && p.status === "failed" ? h("button", { type: "button", onclick: async () => {
          const x = await api("POST", `/payouts/${id}/retry`);
          if (x.ok) renderPayout(id); else toast(x.data && x.data.message, true);
        } }, t("retry")) : null),
      h("section", { class: "card" }, h("h2", {}, t("history")),
        table(["at", "event", ""], (p.events || []).map((e) => [when(e.at), e.to ? `${e.from} → ${e.to}` : e.call, e.reason || e.outcome || ""]))));
  }

  // --- fraud -------------------------------------------------------------------------------

  async function renderFraud() {
    if (!mayRead("fraud")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const status = new URLSearchParams(location.hash.split("?")[1] || "").get("status") || "open";
    const cases = await get(`/fraud/cases?status=${status}&page_size=200`) || [];
    const select = h("select", { "aria-label": t("status") },
      h("option", { value: "open" }, t("open_")), h("option", { value: "resolved" }, t("resolved")));
    select.value = status;
    select.addEventListener("change", () => { location.hash = `#/fraud?status=${select.value}`; });
    mount(h("h1", {}, t("fraud")), h("div", { class: "inline" }, h("span", {}, t("filter")), select),
      h("section", { class: "card" }, table([t("opened"), t("kindCol"), t("subject"), t("score"), t("band"), ""],
        cases.map((c) => [when(c.opened_at), c.kind, c.subject, c.score, c.band,
          h("a", { href: `#/fraud/${c.id}` }, t("open"))]))));
  }

  async function renderCase(id) {
    if (!mayRead("fraud")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const c = await get(`/fraud/cases/${id}`);
    if (!c) return mount(h("p", {}, t("noData")));
    const mapEl = h("div", { class: "chart small", id: "chart-case-map", role: "img", "aria-label": t("evidence") });
    const parts = [h("h1", {}, `${t("cases")}: ${c.kind} ${c.subject}`), h("p", {}, h("a", { href: "#/fraud" }, t("back"))),
      h("section", { class: "card" }, h("h2", {}, t("signals")),
        c.signals.map((s) => h("details", { open: true }, h("summary", {}, `${s.rule} · ${s.score}`),
          h("pre", {}, JSON.stringify(Object.fromEntries(Object.entries(s.evidence).filter(([k]) => k !== "scans")), null, 2))))),
      h("section", { class: "card" }, h("h2", {}, t("timeline")),
        table(["at", t("city"), t("devices"), "verdict", "serial"], c.scans.map((s) => [when(s.at), s.city || "", s.device || "", s.verdict, s.serial]))),
      h("section", { class: "card" }, h("h2", {}, t("linked")), h("p", {}, c.consumers.join(", ") || "—"),
        h("h2", {}, t("devices")), h("p", {}, c.devices.join(", ") || "—")),
      h("section", { class: "card" }, h("h2", {}, t("evidence")), mapEl)];
    if (c.appeal) parts.push(h("section", { class: "card" }, h("h2", {}, t("appeal")), h("blockquote", {}, c.appeal.message)));
    if (c.status === "open" && can("fraud")) {
      const decision = h("select", {}, ["release", "reject", "block"].map((d) => h("option", { value: d }, t(d))));
      const note = h("textarea", { required: true, rows: 3 });
      const form = h("form", { class: "card", id: "resolve-form" }, h("h2", {}, t("resolve")),
        field(t("decision"), decision, "decision"), field(t("note"), note, "note"),
        h("p", { class: "form-error", "aria-live": "assertive" }), h("button", { type: "submit" }, t("resolve")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const r = await api("POST", `/fraud/cases/${id}/resolve`, { decision: decision.value, note: note.value });
        if (!r.ok) return showErrors(form, r);
        toast(t("saved"));
        renderCase(id);
      });
      parts.push(form);
    } else if (c.status === "resolved") {
      parts.push(h("p", { class: "notice", id: "case-decision" }, `${t("decision")}: ${t(c.decision)} — ${c.note || ""}`));
    }
    mount(...parts);
    const provinces = {};
    c.scans.forEach((s) => { if (s.province) provinces[s.province.replace(PROVINCE_SUFFIX, "")] = (provinces[s.province.replace(PROVINCE_SUFFIX, "")] || 0) + 1; });
    chart(mapEl, {
      tooltip: { trigger: "item" },
      visualMap: { min: 0, max: Math.max(1, ...Object.values(provinces)), left: "left", bottom: 0 },
      series: [{ type: "map", map: "china", data: Object.entries(provinces).map(([name, value]) => ({ name, value })) }],
    });
  }

  // --- segments, provenance, channel (on their APIs; shown as unavailable until they exist) ----

  async function unavailableOr(path, render) {
    if (!offers(path.split("?")[0])) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const r = await api("GET", path);
    return render(r.ok ? r.data : []);
  }

  function renderSegments() {
    if (!mayRead("segments")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    return unavailableOr("/segments?page_size=100", async (segments) => {
      const discovered = offers("/segments/discovered") ? await get("/segments/discovered") || [] : [];
      mount(h("h1", {}, t("segments")),
        h("section", { class: "card" }, table([t("segmentName"), t("size"), ""], segments.map((s) => [
          s.name, s.suppressed ? t("suppressed") : s.size, h("a", { href: `#/segments/${s.id}` }, t("open"))]))),
        h("section", { class: "card" }, h("h2", {}, t("discovered")),
          table([t("kindCol"), t("segmentName"), "this week", "last week", "growth"], discovered.map((d) => [
            d.kind, Object.values(d.dimensions || {}).join(" · "), d.this_week, d.last_week ?? "—",
            d.growth === null || d.growth === undefined ? "—" : Math.round(d.growth * 100) + "%"]))),
        can("segments") ? segmentBuilder() : null);
    });
  }

  async function renderSegment(id) {
    const s = await get(`/segments/${id}`);
    if (!s) return mount(h("p", {}, t("noData")));
    const dims = ["province", "product", "lifecycle", "rating", "interest"];
    mount(h("h1", {}, s.name), h("p", {}, h("a", { href: "#/segments" }, t("back"))),
      h("p", { id: "segment-size" }, `${t("size")}: `, s.suppressed ? t("suppressed") : String(s.size)),
      h("pre", {}, JSON.stringify(s.rule, null, 2)),
      h("div", { class: "grid" }, dims.map((d) => chartBox(`${t("breakdown")}: ${d}`, `chart-breakdown-${d}`))));
    for (const d of dims) {
      const cells = (s.breakdown || {})[d] || [];
      chart(document.getElementById(`chart-breakdown-${d}`), {
        tooltip: {}, xAxis: { type: "category", data: cells.map((c) => c.name || c.key || "") },
        yAxis: { type: "value" },
        series: [{ type: "bar", data: cells.map((c) => (c.suppressed ? 0 : c.size)) }],
      });
    }
  }

  function segmentBuilder() {
    const name = h("input", { type: "text", required: true });
    const match = h("select", {}, h("option", { value: "all" }, t("allOf")), h("option", { value: "any" }, t("anyOf")));
    const rows = h("div", { class: "conditions" });
    const addRow = () => {
      const f = h("select", { "aria-label": t("field") }, ["province", "city", "product_id", "category", "lifecycle", "scans_90d", "rating_avg", "interest", "first_scan_at", "reward_ratio"].map((x) => h("option", { value: x }, x)));
      const op = h("select", { "aria-label": t("op") }, ["eq", "in", "gte", "lte", "scanned"].map((x) => h("option", { value: x }, x)));
      const value = h("input", { type: "text", "aria-label": t("value") });
      const row = h("div", { class: "inline" }, f, op, value, h("button", { type: "button", class: "link", onclick: () => row.remove() }, t("remove")));
      row.read = () => {
        const raw = op.value === "in" ? value.value.split(",").map((x) => x.trim()) : value.value;
        const numeric = ["scans_90d", "rating_avg", "reward_ratio"].includes(f.value);
        return { field: f.value, op: op.value, value: numeric ? Number(raw) : raw };
      };
      rows.append(row);
    };
    addRow();
    const form = h("form", { class: "card", id: "segment-form" }, h("h2", {}, t("newSegment")),
      field(t("segmentName"), name, "name"), field(t("match"), match, "rule"), rows,
      h("button", { type: "button", class: "link", onclick: addRow }, t("addCondition")),
      h("p", { class: "form-error", "aria-live": "assertive" }), h("button", { type: "submit" }, t("create")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const rule = { [match.value]: [...rows.children].map((r) => r.read()) };
      const r = await api("POST", "/segments", { name: name.value, rule });
      if (!r.ok) return showErrors(form, r);
      toast(t("saved"));
      location.hash = `#/segments/${r.data.id}`;
    });
    return form;
  }

  // --- provenance: lots and their journeys, a unit's story, EPCIS import and export, parties ---

  // The code inside what a shopper's camera reads: a Digital Link, a compact link or the code.
  function codeOf(text) {
    const raw = text.trim().split(/[?#]/)[0].replace(/\/+$/, "");
    const m = raw.match(/\/21\/([^/]+)/);
    return m ? decodeURIComponent(m[1]) : decodeURIComponent(raw.split("/").pop());
  }

  async function renderProvenance() {
    if (!offers("/parties")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const [lots, parties] = await Promise.all([
      offers("/provenance/lots") ? get("/provenance/lots?page_size=200") : [], get("/parties?page_size=500"),
    ]);
    const unit = h("input", { type: "text", required: true, placeholder: "https://…/01/…/21/…" });
    const unitForm = h("form", { class: "card", id: "unit-form" }, h("h2", {}, t("unitStory")),
      field(t("unitCode"), unit, "unit-code"), h("button", { type: "submit" }, t("open")));
    unitForm.addEventListener("submit", (e) => {
      e.preventDefault();
      location.hash = `#/provenance/units/${encodeURIComponent(codeOf(unit.value))}`;
    });
    mount(h("h1", {}, t("provenance")),
      h("section", { class: "card", id: "lots" }, h("h2", {}, t("journeys")),
        table([t("products"), t("lot"), t("lotEvents"), t("lastEvent"), ""], (lots || []).map((l) => [
          l.product ? l.product.name : l.gtin, l.lot, l.events, when(l.last_at),
          h("a", { href: `#/provenance/lots/${l.id}` }, t("journey"))]))),
      unitForm,
      can("provenance") ? epcisImport() : null,
      epcisExport(null),
      h("section", { class: "card", id: "parties" }, h("h2", {}, t("parties")),
        table([t("name"), t("role"), t("place"), t("publicKey")], (parties || []).map((p) => [
          p.name, t("role_" + p.role), (p.location || {}).name || "", p.public_key ? "✓" : "—"]))),
      can("provenance") ? partyForm() : null);
  }

  function epcisImport() {
    const file = h("input", { type: "file", accept: ".json,.jsonld,application/json,application/ld+json", required: true });
    const out = h("div", { id: "import-result", "aria-live": "polite" });
    const form = h("form", { class: "card", id: "epcis-import" }, h("h2", {}, t("importEpcis")),
      h("p", { class: "muted" }, t("importHelp")), field(t("epcisFile"), file, "epcis-file"),
      h("button", { type: "submit" }, t("importEpcis")), out);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file.files.length) return;
      const text = await file.files[0].text();
      const response = await fetch(API + "/epcis/capture", {
        method: "POST", body: text,
        headers: { Authorization: "Bearer " + state.token, "Content-Type": "application/ld+json", Accept: "application/json" },
      });
      if (response.status === 401) return expire();
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (response.ok) {
        out.replaceChildren(h("p", { class: "notice good", id: "import-ok" }, `${t("captured")}: ${data.captured}`),
          (data.warnings || []).length ? h("ul", { class: "warnings" }, data.warnings.map((w) =>
            h("li", {}, h("code", {}, w.path || "/"), " ", w.message))) : null);
        toast(t("saved"));
        return;
      }
      const problems = ((data || {}).errors || {}).epcis || [];
      const fields = Object.entries(((data || {}).errors || {}).json || {});
      out.replaceChildren(h("div", { class: "form-error", id: "import-errors", role: "alert" },
        h("p", {}, (data && data.message) || `${t("failed")} (${response.status})`),
        problems.length || fields.length ? h("ul", {},
          problems.map((p) => h("li", {}, h("code", {}, p.path || "/"), " ", p.message || p.problem)),
          fields.map(([k, v]) => h("li", {}, h("code", {}, k), " ", [].concat(v).join(" ")))) : null));
    });
    return form;
  }

  function epcisExport(lot) {
    const from = h("input", { type: "date" });
    const to = h("input", { type: "date" });
    const progress = h("progress", { max: 100, value: 0, "aria-label": t("downloading") });
    const form = h("form", { class: "card", id: "epcis-export" }, h("h2", {}, t("exportEpcis")),
      lot ? null : h("div", { class: "inline" }, field(t("from"), from, "from"), field(t("to"), to, "to")),
      h("button", { type: "submit" }, t("downloadJson")), progress);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const q = new URLSearchParams();
      if (lot) q.set("lot_id", lot.id);
      if (from.value) q.set("from", from.value + "T00:00:00+08:00");
      if (to.value) q.set("to", to.value + "T23:59:59+08:00");
      download(`/epcis/events?${q}`, lot ? `epcis-${lot.gtin}-${lot.lot}.json` : "epcis-events.json", 50000, progress);
    });
    return form;
  }

  function partyForm() {
    const roles = ["primary_producer", "refiner", "biochemist", "formulator", "filler", "packer", "distributor", "retailer", "recycler"];
    const inputs = {
      name: h("input", { type: "text", required: true }),
      role: h("select", {}, roles.map((r) => h("option", { value: r }, t("role_" + r)))),
      place: h("input", { type: "text", required: true }),
      lat: h("input", { type: "number", step: "any", min: -90, max: 90, required: true }),
      lng: h("input", { type: "number", step: "any", min: -180, max: 180, required: true }),
      country: h("input", { type: "text", value: "CN", maxlength: 2, required: true }),
      province: h("input", { type: "text" }), city: h("input", { type: "text" }),
      public_key: h("input", { type: "text" }),
    };
    const form = h("form", { class: "card", id: "party-form" }, h("h2", {}, t("newParty")),
      field(t("name"), inputs.name, "name"), field(t("role"), inputs.role, "role"),
      field(t("place"), inputs.place, "location"),
      h("div", { class: "inline" }, field(t("lat"), inputs.lat, "lat"), field(t("lng"), inputs.lng, "lng"),
        field(t("country"), inputs.country, "country")),
      h("div", { class: "inline" }, field(t("province"), inputs.province, "province"), field(t("city"), inputs.city, "city")),
      field(t("publicKey"), inputs.public_key, "public_key"),
      h("p", { class: "form-error", "aria-live": "assertive" }), h("button", { type: "submit" }, t("create")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const location_ = { name: inputs.place.value, lat: Number(inputs.lat.value), lng: Number(inputs.lng.value), country: inputs.country.value };
      if (inputs.province.value) location_.province = inputs.province.value;
      if (inputs.city.value) location_.city = inputs.city.value;
      const body = { name: inputs.name.value, role: inputs.role.value, location: location_ };
      if (inputs.public_key.value) body.public_key = inputs.public_key.value.trim();
      const r = await api("POST", "/parties", body);
      if (!r.ok) return showErrors(form, r);
      toast(t("saved"));
      renderProvenance();
    });
    return form;
  }

  // A journey's steps as a timeline, and on the map of China (points joined in time order).
  function journeyMap(el, steps) {
    const places = [];
    steps.forEach((s) => {
      const loc = (s.party || {}).location || {};
      if (typeof loc.lng !== "number" || typeof loc.lat !== "number") return;
      const last = places[places.length - 1];
      if (!last || last.value[0] !== loc.lng || last.value[1] !== loc.lat) {
        places.push({ name: `${places.length + 1}. ${(s.party || {}).name || ""}`, value: [loc.lng, loc.lat] });
      }
    });
    const lines = places.slice(1).map((p, i) => ({ coords: [places[i].value, p.value] }));
    chart(el, {
      tooltip: { trigger: "item", formatter: (p) => p.name || "" },
      geo: { map: "china", roam: true, itemStyle: { areaColor: "#eef2f5", borderColor: "#9aa5b1" } },
      series: [
        { type: "lines", coordinateSystem: "geo", data: lines, symbol: ["none", "arrow"], symbolSize: 8,
          lineStyle: { width: 2, color: "#1f6f50", curveness: 0.2 } },
        { type: "scatter", coordinateSystem: "geo", data: places, symbolSize: 12, itemStyle: { color: "#c2410c" },
          label: { show: true, position: "right", formatter: (p) => p.name.split(". ")[0], color: "#111" } },
      ],
    });
  }

  function timeline(steps) {
    if (!steps.length) return h("p", { class: "muted" }, t("noJourney"));
    return h("ol", { class: "timeline", id: "journey-timeline" }, steps.map((s) => {
      const place = (s.party || {}).location || {};
      return h("li", { class: "step" },
        h("h3", {}, `${when(s.at)} · ${t("biz_" + s.biz_step) === "biz_" + s.biz_step ? (s.biz_step || s.kind) : t("biz_" + s.biz_step)}`),
        h("p", {}, h("strong", {}, (s.party || {}).name || ""), ` (${t("role_" + (s.party || {}).role)}) · ${place.name || ""}`),
        s.description ? h("p", {}, s.description) : null,
        h("p", { class: "muted" },
          s.co2e_kg !== null && s.co2e_kg !== undefined ? `${s.co2e_kg} kg CO2e` : t("noCarbon"),
          s.water_l ? ` · ${s.water_l} L ${t("water")}` : "",
          (s.lots || []).length ? " · " + s.lots.map((l) => `${t("lotRole_" + l.role)} ${l.lot} ${l.quantity}${l.uom ? " " + l.uom : ""}`).join(", ") : ""),
        (s.certifications || []).length ? h("p", {}, `${t("certifications")}: `, s.certifications.join(", ")) : null,
        (s.claims || []).length ? h("ul", { class: "claims" }, s.claims.map((c) => h("li", {
          class: c.verified ? "claim verified" : "claim unverified", "data-verified": String(!!c.verified),
        }, h("span", { class: "mark", "aria-hidden": "true" }, c.verified ? "✓" : "✗"),
        ` ${c.statement} — ${(c.party || {}).name || c.party_ref || ""} · `,
        h("em", {}, c.verified ? t("verified") : t("unverified"))))) : null);
    }));
  }

  function carbonCard(story) {
    const m = story.co2e_method || {};
    return h("section", { class: "card", id: "carbon" }, h("h2", {}, t("carbon")),
      h("p", {}, h("strong", { id: "co2e-total" }, story.co2e_kg_total === null || story.co2e_kg_total === undefined
        ? "—" : `${Number(story.co2e_kg_total).toFixed(3)} kg CO2e`), ` ${t("perUnit")}`),
      m.rule ? h("p", { class: "muted" }, `${t("method")}: ${m.rule}; ${t("lotTotal")} ${m.lot_co2e_kg} kg; ` +
        `${t("unitsInLot")} ${m.units_in_lot ?? "—"} (${m.units_from}); ${t("stepsWithout")} ${m.steps_without_data}`) : null);
  }

  function previewForm(initial) {
    const code = h("input", { type: "text", value: initial || "", placeholder: "https://…/01/…/21/…" });
    const frame = h("div", { class: "preview-frame" });
    const form = h("form", { class: "card", id: "story-preview" }, h("h2", {}, t("storyPreview")),
      h("p", { class: "muted" }, t("previewHelp")),
      h("div", { class: "inline" }, field(t("unitCode"), code, "preview-code"), h("button", { type: "submit" }, t("preview"))), frame);
    const show = () => {
      if (!code.value.trim()) return;
      const src = `/story/${encodeURIComponent(codeOf(code.value))}`;
      frame.replaceChildren(h("iframe", { src, title: t("storyPreview"), loading: "lazy" }),
        h("p", {}, h("a", { href: src, target: "_blank", rel: "noopener" }, t("openStory"))));
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); show(); });
    if (initial) window.setTimeout(show, 0);
    return form;
  }

  async function renderLot(id) {
    const r = await api("GET", `/provenance/lots/${encodeURIComponent(decodeURIComponent(id))}`);
    if (!r.ok) return mount(h("p", { class: "notice" }, (r.data && r.data.message) || t("noData")),
      h("a", { href: "#/provenance" }, t("back")));
    const story = r.data;
    const verified = story.steps.flatMap((s) => s.claims).filter((c) => c.verified).length;
    const claims = story.steps.flatMap((s) => s.claims).length;
    const mapEl = h("div", { class: "chart", id: "chart-journey", role: "img", "aria-label": t("journeyMap") });
    mount(h("h1", {}, `${story.product ? story.product.name : story.lot.gtin} · ${story.lot.lot}`),
      h("p", {}, h("a", { href: "#/provenance" }, t("back")), " · ", h("code", {}, story.lot.uri)),
      h("div", { class: "tiles" },
        h("div", { class: "tile" }, h("span", {}, t("steps")), h("strong", { id: "tile-steps" }, story.steps.length)),
        h("div", { class: "tile" }, h("span", {}, t("verifiedClaims")), h("strong", {}, `${verified} / ${claims}`)),
        h("div", { class: "tile" }, h("span", {}, "kg CO2e / " + t("unit")),
          h("strong", {}, story.co2e_kg_total === null ? "—" : Number(story.co2e_kg_total).toFixed(3)))),
      h("div", { class: "grid" },
        h("section", { class: "card chart-card" }, h("h2", {}, t("journeyMap")), mapEl),
        carbonCard(story)),
      h("section", { class: "card" }, h("h2", {}, t("timeline")), timeline(story.steps)),
      previewForm(""), epcisExport(story.lot));
    journeyMap(mapEl, story.steps);
  }

  async function renderUnit(code) {
    const raw = decodeURIComponent(code);
    const r = await api("GET", `/story/${encodeURIComponent(raw)}`);
    if (!r.ok) return mount(h("p", { class: "notice" }, (r.data && r.data.message) || t("noData")),
      h("a", { href: "#/provenance" }, t("back")));
    const s = r.data;
    const mapEl = h("div", { class: "chart", id: "chart-journey", role: "img", "aria-label": t("journeyMap") });
    const good = s.verdict === "authentic" || s.verdict === "authentic_repeat";
    const parts = [h("h1", {}, `${t("unitStory")}: ${s.unit ? s.unit.serial : raw}`),
      h("p", {}, h("a", { href: "#/provenance" }, t("back"))),
      h("p", { class: good ? "notice good" : "notice", id: "unit-verdict", "data-verdict": s.verdict },
        `${t(s.verdict) === s.verdict ? s.verdict : t(s.verdict)} — ${s.message || ""}`)];
    if (s.product) parts.push(h("p", {}, `${s.product.name} · ${t("gtin")} ${s.product.gtin}` + (s.lot ? ` · ${t("lot")} ${s.lot.lot}` : "")));
    if (s.lot && s.lot.id) parts.push(h("p", {}, h("a", { href: `#/provenance/lots/${s.lot.id}` }, t("lotJourney"))));
    if (s.unit) parts.push(h("section", { class: "card", id: "lifecycle" }, h("h2", {}, t("lifecycle")),
      table([t("stage"), t("created"), t("place"), ""], s.unit.lifecycle.map((e) => [
        t("stage_" + e.stage) === "stage_" + e.stage ? e.stage : t("stage_" + e.stage), when(e.at), e.place || "", e.detail || ""]))));
    if (s.steps.length) {
      parts.push(h("div", { class: "grid" },
        h("section", { class: "card chart-card" }, h("h2", {}, t("journeyMap")), mapEl), carbonCard(s)),
      h("section", { class: "card" }, h("h2", {}, t("timeline")), timeline(s.steps)));
    }
    parts.push(previewForm(raw));
    mount(...parts);
    if (s.steps.length) journeyMap(mapEl, s.steps);
  }

  // --- channel: the funnel, partners with stock and invites ---------------------------------

  const FUNNEL = ["produced", "shipped", "received", "sold", "consumer_scanned"];

  // One group of bars per partner or province: a unit shipped on by two partners counts at
  // each, so totals over the groups would not be a funnel.
  function funnelChart(el, rows, label) {
    chart(el, {
      tooltip: { trigger: "axis" }, legend: { data: FUNNEL.map((s) => t("step_" + s)), bottom: 0 },
      grid: { left: 48, right: 16, top: 16, bottom: 72 },
      xAxis: { type: "category", data: rows.map(label), axisLabel: { interval: 0, overflow: "truncate", width: 110 } },
      yAxis: { type: "value", minInterval: 1 },
      series: FUNNEL.map((s) => ({ name: t("step_" + s), type: "bar", data: rows.map((r) => r[s] || 0) })),
    });
  }

  async function renderChannel() {
    if (!offers("/partners")) return mount(h("p", { class: "notice" }, t("notAvailable")));
    const group = new URLSearchParams(location.hash.split("?")[1] || "").get("group_by") || "partner";
    const hasFunnel = offers("/reports/channel-funnel");
    const [partners, funnel] = await Promise.all([
      get("/partners?page_size=500"), hasFunnel ? get(`/reports/channel-funnel?group_by=${group}`) : null,
    ]);
    const list = partners || [];
    const stocks = offers("/partners/{id}/stock")
      ? await Promise.all(list.slice(0, 50).map((p) => get(`/partners/${p.id}/stock`))) : [];
    const byId = Object.fromEntries(list.map((p) => [p.id, p]));
    const select = h("select", { "aria-label": t("groupBy"), id: "funnel-group" },
      h("option", { value: "partner" }, t("byPartner")), h("option", { value: "province" }, t("byProvince")));
    select.value = group;
    select.addEventListener("change", () => { location.hash = `#/channel?group_by=${select.value}`; });
    const rows = funnel || [];
    mount(h("h1", {}, t("channel")),
      hasFunnel ? h("div", { class: "grid" },
        chartBox(t("channelFunnel"), "chart-channel-funnel", h("div", { class: "inline" }, h("span", {}, t("groupBy")), select)),
        chartBox(t("stockByPartner"), "chart-stock")) : null,
      hasFunnel ? h("section", { class: "card", id: "funnel-table" }, h("h2", {}, t("channelFunnel")),
        table([group === "partner" ? t("partners") : t("province"), ...FUNNEL.map((s) => t("step_" + s))],
          rows.map((r) => [r.name || (byId[r.key] || {}).name || r.key || "—", ...FUNNEL.map((s) => r[s] || 0)]))) : null,
      h("section", { class: "card", id: "partners" }, h("h2", {}, t("partners")),
        table([t("name"), t("kind"), t("province"), t("city"), t("territory"), t("parent"), t("stock"), ""], list.map((p, i) => [
          p.name, t("kind_" + p.kind), p.province, p.city, (p.territory || []).join("、") || "—",
          p.parent_id && byId[p.parent_id] ? byId[p.parent_id].name : "—", stocks[i] ? stocks[i].units : "—",
          h("a", { href: `#/channel/partners/${p.id}` }, t("open"))]))),
      can("channel") ? partnerForm(list) : null);
    if (!hasFunnel) return;
    funnelChart(document.getElementById("chart-channel-funnel"), rows,
      (r) => r.name || (byId[r.key] || {}).name || r.key || "—");
    const held = list.slice(0, 50).map((p, i) => ({ name: p.name, value: stocks[i] ? stocks[i].units : 0 }));
    chart(document.getElementById("chart-stock"), {
      tooltip: {}, grid: { left: 160 }, xAxis: { type: "value" },
      yAxis: { type: "category", data: held.map((x) => x.name) },
      series: [{ name: t("stock"), type: "bar", data: held.map((x) => x.value) }],
    });
  }

  function partnerForm(partners) {
    const inputs = {
      kind: h("select", {}, ["warehouse", "dealer", "store"].map((k) => h("option", { value: k }, t("kind_" + k)))),
      name: h("input", { type: "text", required: true }),
      province: h("input", { type: "text", required: true, placeholder: "浙江省" }),
      city: h("input", { type: "text", required: true, placeholder: "杭州市" }),
      territory: h("input", { type: "text", placeholder: "浙江省, 上海市" }),
      parent_id: h("select", {}, h("option", { value: "" }, "—"), partners.map((p) => h("option", { value: p.id }, p.name))),
    };
    const form = h("form", { class: "card", id: "partner-form" }, h("h2", {}, t("newPartner")),
      field(t("kind"), inputs.kind, "kind"), field(t("name"), inputs.name, "name"),
      h("div", { class: "inline" }, field(t("province"), inputs.province, "province"), field(t("city"), inputs.city, "city")),
      field(t("territory"), inputs.territory, "territory"), field(t("parent"), inputs.parent_id, "parent_id"),
      h("p", { class: "form-error", "aria-live": "assertive" }), h("button", { type: "submit" }, t("create")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { kind: inputs.kind.value, name: inputs.name.value, province: inputs.province.value.trim(),
        city: inputs.city.value.trim(), territory: inputs.territory.value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean) };
      if (inputs.parent_id.value) body.parent_id = inputs.parent_id.value;
      const r = await api("POST", "/partners", body);
      if (!r.ok) return showErrors(form, r);
      toast(t("saved"));
      location.hash = `#/channel/partners/${r.data.id}`;
    });
    return form;
  }

  function inviteCard(invite) {
    return h("section", { class: "card invite-card", id: "new-invite", "aria-live": "polite" },
      h("h2", {}, t("newInvite")),
      h("div", { class: "inline" },
        h("img", { src: invite.qr_svg, alt: `${t("inviteQr")} ${invite.invite_code}`, width: 160, height: 160, class: "qr" }),
        h("div", {},
          h("p", {}, `${t("inviteCode")}: `, h("strong", { id: "invite-code" }, invite.invite_code)),
          h("p", {}, `${t("link")}: `, h("a", { href: invite.link, id: "invite-link", target: "_blank", rel: "noopener" }, invite.link)),
          h("p", { class: "muted" }, `${t("expires")}: ${when(invite.expires_at)}`),
          h("p", { class: "muted" }, t("inviteHelp")))));
  }

  async function renderPartner(id) {
    const partner = await get(`/partners/${id}`);
    if (!partner) return mount(h("p", {}, t("noData")), h("a", { href: "#/channel" }, t("back")));
    const [stock, invites, products] = await Promise.all([
      offers("/partners/{id}/stock") ? get(`/partners/${id}/stock`) : null,
      offers("/partners/{id}/invites") ? get(`/partners/${id}/invites`) : null,
      get("/products?page_size=500"),
    ]);
    const names = Object.fromEntries((products || []).map((p) => [p.id, p.name]));
    const slot = h("div", {});
    const inviteRows = (invites || []).map((i) => [
      h("code", {}, i.invite_code), h("span", { class: "status-" + i.status }, t("invite_" + i.status)),
      when(i.created_at), when(i.expires_at), i.used_at ? when(i.used_at) : "—",
      h("span", { class: "actions" },
        i.status === "active" ? h("button", { type: "button", class: "link", onclick: () => { slot.replaceChildren(inviteCard(i)); } }, t("showQr")) : null,
        i.status === "active" && can("channel") ? h("button", { type: "button", class: "danger", "data-revoke": i.id, onclick: async () => {
          if (!window.confirm(t("confirmRevokeInvite"))) return;
          const r = await api("POST", `/partners/${id}/invites/${i.id}/revoke`);
          if (r.ok) { toast(t("saved")); renderPartner(id); } else toast((r.data && r.data.message) || t("failed"), true);
        } }, t("revoke")) : null)]);
    mount(h("h1", {}, partner.name), h("p", {}, h("a", { href: "#/channel" }, t("back"))),
      h("section", { class: "card" }, h("dl", { class: "facts" },
        h("dt", {}, t("kind")), h("dd", {}, t("kind_" + partner.kind)),
        h("dt", {}, t("place")), h("dd", {}, `${partner.province} ${partner.city}`),
        h("dt", {}, t("territory")), h("dd", {}, (partner.territory || []).join("、") || "—"))),
      h("section", { class: "card", id: "stock" }, h("h2", {}, t("stock")),
        stock ? h("p", {}, `${t("unitsHeld")}: `, h("strong", { id: "stock-units" }, stock.units)) : h("p", { class: "muted" }, t("notAvailable")),
        stock ? table([t("products"), t("quantity")], stock.by_product.map((b) => [names[b.product_id] || b.product_id, b.units])) : null),
      h("section", { class: "card", id: "invites" }, h("h2", {}, t("invites")),
        can("channel") ? h("button", { type: "button", id: "create-invite", onclick: async () => {
          const r = await api("POST", `/partners/${id}/invites`);
          if (!r.ok) return toast((r.data && r.data.message) || t("failed"), true);
          await renderPartner(id);
          document.getElementById("invite-slot").replaceChildren(inviteCard(r.data));
        } }, t("invite")) : null,
        invites ? table([t("inviteCode"), t("status"), t("created"), t("expires"), t("usedAt"), ""], inviteRows) : null),
      h("div", { id: "invite-slot" }, slot));
  }

  // --- routing -----------------------------------------------------------------------------

  const ROUTES = [
    [/^#\/dashboard/, renderDashboard], [/^#\/codes\/products\/([^/?]+)/, renderProduct],
    [/^#\/codes\/batches\/([^/?]+)/, renderBatch], [/^#\/codes/, renderCodes],
    [/^#\/campaigns\/([^/?]+)/, renderCampaign], [/^#\/campaigns/, renderCampaigns],
    [/^#\/payouts\/([^/?]+)/, renderPayout], [/^#\/payouts/, renderPayouts],
    [/^#\/fraud\/([^/?]+)/, renderCase], [/^#\/fraud/, renderFraud],
    [/^#\/segments\/([^/?]+)/, renderSegment], [/^#\/segments/, renderSegments],
    [/^#\/provenance\/lots\/([^?]+)/, renderLot], [/^#\/provenance\/units\/([^?]+)/, renderUnit],
    [/^#\/provenance/, renderProvenance],
    [/^#\/channel\/partners\/([^/?]+)/, renderPartner], [/^#\/channel/, renderChannel],
  ];

  async function route() {
    if (!state.token) return renderLogin();
    if (!location.hash || location.hash === "#/") { location.hash = "#/dashboard"; return; }
    chrome(true);
    mount(h("p", { class: "muted" }, t("loading")));
    await loadPaths();
    for (const [pattern, render] of ROUTES) {
      const m = location.hash.match(pattern);
      if (m) {
        try { await render(...m.slice(1)); restoreTyped(); } catch (e) { if (!e.expired) toast(e.message, true); }
        document.getElementById("main").focus({ preventScroll: true });
        return;
      }
    }
    location.hash = "#/dashboard";
  }

  document.getElementById("lang-switch").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "zh-CN" : "en";
    window.localStorage.setItem("console.lang", state.lang);
    if (state.token) route(); else renderLogin();
  });
  document.getElementById("logout").addEventListener("click", () => {
    store.clear();
    state.token = null;
    state.staff = null;
    renderLogin();
  });
  window.addEventListener("unhandledrejection", (event) => {
    if (event.reason && event.reason.expired) event.preventDefault();
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
  route();
})();
