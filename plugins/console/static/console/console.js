/* Nebulo's operator console: Alpine.js components over the REST API and two WebSockets.
 * No build step. Tokens live in this closure only (never in storage or cookies): a reload
 * asks for the password again, and a stolen page script finds nothing stored. */
(() => {
  "use strict";

  const API = "/api/v1";
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const assets = JSON.parse(document.getElementById("console-assets").textContent);
  const TIME_GRAINS = ["day", "week", "month"];
  const PROVIDER_DOWN = ["SERVICE_UNAVAILABLE", "BAD_GATEWAY", "GATEWAY_TIMEOUT"];
  const RECONNECT_MS = 3000;

  let tokens = null; // {access, refresh}
  let app = null; // the root component
  let refreshing = null;

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || `HTTP ${status}`);
      this.status = status;
      this.code = (body && body.code) || "";
    }
  }

  function explain(error) {
    if (PROVIDER_DOWN.includes(error.code)) {
      return `The assistant's model provider is not answering (${error.message}). Try again in a minute.`;
    }
    if (error.status === 403) return `You are not allowed to do that: ${error.message}`;
    return error.message || String(error);
  }

  async function refreshTokens() {
    if (!tokens) throw new ApiError(401, { detail: "Not logged in", code: "UNAUTHORIZED" });
    if (!refreshing) {
      refreshing = fetch(API + "/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh }),
      })
        .then(async (response) => {
          const body = await response.json().catch(() => ({}));
          if (!response.ok) throw new ApiError(response.status, body);
          tokens = { access: body.access_token, refresh: body.refresh_token };
        })
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  function sessionExpired() {
    if (app && tokens) app.signOut("Your session has expired: log in again.");
  }

  /* One API call; a 401 refreshes the tokens once and retries, then it is back to login. */
  async function api(method, path, body, retry = true) {
    const headers = {};
    if (tokens) headers.Authorization = "Bearer " + tokens.access;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && tokens) {
      if (retry) {
        try {
          await refreshTokens();
        } catch (error) {
          sessionExpired();
          throw new ApiError(401, { detail: "Your session has expired", code: "UNAUTHORIZED" });
        }
        return api(method, path, body, false);
      }
      sessionExpired();
    }
    if (!response.ok) {
      const detail = await response.json().catch(() => ({ detail: response.statusText }));
      throw new ApiError(response.status, detail);
    }
    return response.status === 204 ? null : response.json();
  }

  function socketUrl(path) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${API}${path}?token=${encodeURIComponent(tokens.access)}`;
  }

  /* ---- formatting ------------------------------------------------------------------------ */

  function title(name) {
    const text = String(name || "").replace(/[_.]/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function cell(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "number") {
      return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
    }
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return JSON.stringify(value);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return new Date(value).toLocaleString();
    return String(value);
  }

  function money(amount, currency) {
    if (amount === null || amount === undefined) return "—";
    const value = Number(amount);
    try {
      return value.toLocaleString(undefined, { style: "currency", currency: currency || "USD" });
    } catch (error) {
      return cell(value);
    }
  }

  /* ---- charts (Vega-Lite, loaded on the first chart so the first page stays light) ---------- */

  let vegaLoading = null;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error("Could not load " + src));
      document.head.appendChild(script);
    });
  }

  function loadVega() {
    if (!vegaLoading) {
      vegaLoading = loadScript(assets.vega)
        .then(() => loadScript(assets.vega_lite))
        .then(() => loadScript(assets.vega_embed));
    }
    return vegaLoading;
  }

  const isDate = (value) => typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value);

  function lineSpec(rows, x, metrics, labels) {
    const values = [];
    for (const row of rows) {
      for (const metric of metrics) {
        const label = labels[metric] || title(metric);
        values.push({ x: row[x], value: Number(row[metric] || 0), series: label, previous: "no" });
        if (metric + "_previous" in row) {
          values.push({
            x: row[x],
            value: Number(row[metric + "_previous"] || 0),
            series: label + " (previous period)",
            previous: "yes",
          });
        }
      }
    }
    return {
      width: "container",
      height: 200,
      data: { values },
      mark: { type: "line", point: true, tooltip: true },
      encoding: {
        x: { field: "x", type: rows.length && isDate(rows[0][x]) ? "temporal" : "ordinal", title: null },
        y: { field: "value", type: "quantitative", title: null },
        color: { field: "series", type: "nominal", legend: { orient: "bottom", title: null } },
        strokeDash: { field: "previous", type: "nominal", legend: null },
      },
    };
  }

  /* A source's rows as a line with shaded (lower, upper) bands around it, widest first: a
     forecast with its 95 % and 80 % intervals. */
  function bandSpec(rows, x, y, bands) {
    const xType = rows.length && isDate(rows[0][x]) ? "temporal" : "ordinal";
    const xAxis = { field: x, type: xType, title: null };
    const areas = bands.map(([lower, upper], index) => ({
      mark: { type: "area", opacity: 0.2 + (0.25 * index) / Math.max(bands.length - 1, 1), tooltip: true },
      encoding: {
        x: xAxis,
        y: { field: lower, type: "quantitative", title: null },
        y2: { field: upper },
      },
    }));
    return {
      width: "container",
      height: 200,
      data: { values: rows },
      layer: [
        ...areas,
        {
          mark: { type: "line", point: true, tooltip: true },
          encoding: { x: xAxis, y: { field: y, type: "quantitative", title: null } },
        },
      ],
    };
  }

  function barSpec(rows, dimension, metric) {
    return {
      width: "container",
      height: { step: 22 },
      autosize: { type: "fit-x", contains: "padding" },
      data: { values: rows.map((row) => ({ ...row, [dimension]: row[dimension] ?? `(no ${dimension})` })) },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: dimension, type: "nominal", sort: "-x", title: null },
        x: { field: metric, type: "quantitative", title: null },
      },
    };
  }

  async function draw(element, spec) {
    await loadVega();
    await window.vegaEmbed(element, spec, { actions: false, renderer: "svg" });
    const svg = element.querySelector("svg");
    if (svg && svg.getAttribute("width") === "0") resizeWhenWide(element);
  }

  /* A "container"-wide chart drawn before its panel was laid out (a page being shown) is 0 px
     wide: Vega reads the container's width when it renders and on window resize only. */
  function resizeWhenWide(element) {
    const observer = new ResizeObserver(() => {
      if (!element.clientWidth) return;
      observer.disconnect();
      window.dispatchEvent(new Event("resize"));
    });
    observer.observe(element);
  }

  /* ---- assistant answers as tables ------------------------------------------------------- */

  /* Ids mean nothing to a person reading an answer: shown only when nothing else is. */
  function readable(columns) {
    const named = columns.filter((column) => !/(^|_)id$/.test(column));
    return (named.length ? named : columns).slice(0, 8);
  }

  function tableOf(name, result) {
    if (Array.isArray(result)) {
      const rows = result.filter((row) => row && typeof row === "object" && !Array.isArray(row));
      if (!rows.length) return null;
      return { title: title(name), columns: readable(Object.keys(rows[0])), rows: rows.slice(0, 50) };
    }
    if (!result || typeof result !== "object") return null;
    if (Array.isArray(result.rows)) {
      if (!result.rows.length) return null;
      const table = {
        title: title(name),
        columns: result.columns || Object.keys(result.rows[0]),
        rows: result.rows.slice(0, 100),
      };
      const grain = (result.group_by || [])[0];
      if (TIME_GRAINS.includes(grain) && result.rows.length > 1) {
        const metrics = (result.metrics || []).map((m) => m.name || m);
        const labels = Object.fromEntries((result.metrics || []).map((m) => [m.name, m.label]));
        table.series = lineSpec(result.rows, grain, metrics, labels);
      }
      return table;
    }
    for (const [key, value] of Object.entries(result)) {
      if (Array.isArray(value) && value.length && typeof value[0] === "object") {
        return tableOf(`${name}: ${key}`, value);
      }
    }
    return null;
  }

  function tablesOf(calls) {
    return (calls || [])
      .filter((call) => call.ok !== false && call.result !== undefined)
      .map((call) => tableOf(call.name, call.result))
      .filter(Boolean);
  }

  function fromHistory(messages) {
    const shown = [];
    for (const message of messages) {
      if (message.role === "user") shown.push({ role: "user", text: message.content });
      else if (message.role === "assistant") {
        for (const call of message.tool_calls || []) {
          shown.push({ role: "step", text: `Called ${call.name || "a tool"}` });
        }
        if (message.content) shown.push({ role: "assistant", text: message.content });
      } else if (message.role === "tool") {
        let result = null;
        try {
          result = JSON.parse(message.content);
        } catch (error) {
          result = null;
        }
        const table = tableOf(message.tool_name || "result", result);
        shown.push({ role: "step", text: `${message.tool_name || "Tool"} answered`, tables: table ? [table] : [] });
      }
    }
    return shown;
  }

  /* ---- the assistant's WebSocket ---------------------------------------------------------- */

  class ChatSocket {
    constructor() {
      this.socket = null;
      this.waiting = null; // {resolve, reject, onStep}
    }

    connect() {
      if (this.socket && this.socket.readyState <= WebSocket.OPEN) return this.opened;
      this.socket = new WebSocket(socketUrl("/assistant/ws"));
      this.opened = new Promise((resolve, reject) => {
        this.socket.onopen = resolve;
        this.socket.onerror = () => reject(new ApiError(0, { detail: "The chat connection failed" }));
      });
      this.socket.onmessage = (event) => this.receive(JSON.parse(event.data));
      this.socket.onclose = () => {
        if (this.waiting) this.waiting.reject(new ApiError(0, { detail: "The chat connection was lost; ask again" }));
        this.waiting = null;
        this.socket = null;
      };
      return this.opened;
    }

    receive(frame) {
      const waiting = this.waiting;
      if (!waiting) return;
      if (frame.type === "done") {
        this.waiting = null;
        waiting.resolve(frame);
      } else if (frame.type === "error") {
        this.waiting = null;
        waiting.reject(new ApiError(0, frame));
      } else {
        waiting.onStep(frame);
      }
    }

    async send(payload, onStep) {
      await this.connect();
      return new Promise((resolve, reject) => {
        this.waiting = { resolve, reject, onStep };
        this.socket.send(JSON.stringify(payload));
      });
    }

    /* An expired access token answers UNAUTHORIZED: refresh, reconnect, ask once more. */
    async ask(payload, onStep) {
      try {
        return await this.send(payload, onStep);
      } catch (error) {
        if (error.code !== "UNAUTHORIZED") throw error;
        this.close();
        try {
          await refreshTokens();
        } catch (refreshError) {
          sessionExpired();
          throw error;
        }
        return this.send(payload, onStep);
      }
    }

    close() {
      if (this.socket) this.socket.close();
      this.socket = null;
    }
  }

  const chat = new ChatSocket();

  /* ---- the project's event feed: live inbox ----------------------------------------------- */

  let feed = null;

  function openFeed(projectId) {
    closeFeed();
    const socket = new WebSocket(socketUrl(`/ws/${projectId}`));
    feed = socket;
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (typeof frame.name === "string" && frame.name.startsWith("message.")) {
        window.dispatchEvent(new CustomEvent("nebulo:message", { detail: frame }));
      }
    };
    socket.onclose = async (event) => {
      if (feed !== socket || !tokens) return;
      if (event.code === 4401) {
        try {
          await refreshTokens();
        } catch (error) {
          sessionExpired();
          return;
        }
      }
      setTimeout(() => {
        if (feed === socket && tokens && app.projectId === projectId) openFeed(projectId);
      }, RECONNECT_MS);
    };
  }

  function closeFeed() {
    const socket = feed;
    feed = null;
    if (socket) socket.close();
  }

  /* ---- components ------------------------------------------------------------------------- */

  document.addEventListener("alpine:init", () => {
    const Alpine = window.Alpine;

    Alpine.data("nebuloConsole", () => ({
      config,
      signedIn: false,
      busy: false,
      loginError: "",
      notice: "",
      form: { user: "", password: "" },
      user: null,
      projects: [],
      projectId: "",
      info: null,
      view: "dashboard",
      loaded: false,
      unreadTotal: 0,

      init() {
        app = this;
        window.addEventListener("hashchange", () => this.route());
        window.addEventListener("nebulo:message", () => this.refreshUnread());
        this.route();
        window.nebuloReady = true;
      },

      get extraPages() {
        return this.info ? this.info.pages.filter((page) => page !== "dashboard") : [];
      },

      route() {
        const path = location.hash.replace(/^#\/?/, "");
        if (path.startsWith("page/")) this.view = "page:" + path.slice(5);
        else if (["chat", "inbox", "reports"].includes(path)) this.view = path;
        else this.view = "dashboard";
        this.notice = "";
      },

      async login() {
        this.busy = true;
        this.loginError = "";
        const user = this.form.user.trim();
        const body = { password: this.form.password };
        body[user.includes("@") ? "email" : "username"] = user;
        try {
          const response = await fetch(API + "/auth/login", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body),
          });
          const answer = await response.json().catch(() => ({}));
          if (!response.ok) {
            this.loginError =
              response.status === 401 ? "Wrong email, username or password." : answer.detail || "Login failed.";
            return;
          }
          tokens = { access: answer.access_token, refresh: answer.refresh_token };
          this.form.password = "";
          await this.start();
        } catch (error) {
          this.loginError = explain(error);
        } finally {
          this.busy = false;
        }
      },

      async start() {
        this.user = await api("GET", "/auth/me");
        this.projects = await api("GET", "/projects?page_size=100");
        this.signedIn = true;
        this.loaded = true;
        if (this.projects.length) {
          this.projectId = this.projects[0].id;
          await this.switchProject();
        }
      },

      async switchProject() {
        this.info = null;
        chat.close();
        try {
          this.info = await api("GET", `/console/${this.projectId}`);
          openFeed(this.projectId);
          this.refreshUnread();
        } catch (error) {
          this.notice = explain(error);
        }
      },

      async refreshUnread() {
        if (!this.has("messages") || !this.can("view_messages")) return;
        try {
          const stats = await api("GET", `/messages/${this.projectId}/stats/summary?days=3650`);
          this.unreadTotal = stats.unread;
        } catch (error) {
          this.unreadTotal = 0;
        }
      },

      has(plugin) {
        return Boolean(this.info && this.info.plugins.includes(plugin));
      },

      can(permission) {
        return Boolean(this.info && this.info.permissions.includes(permission));
      },

      pagePanels() {
        const page = this.view === "dashboard" ? "dashboard" : this.view.slice(5);
        return this.info ? this.info.panels.filter((panel) => panel.page === page) : [];
      },

      async logout() {
        try {
          await api("POST", "/auth/logout");
        } catch (error) {
          // logged out on this side whatever the server said
        }
        this.signOut("");
      },

      signOut(message) {
        tokens = null;
        chat.close();
        closeFeed();
        this.signedIn = false;
        this.info = null;
        this.projects = [];
        this.projectId = "";
        this.user = null;
        this.loaded = false;
        this.loginError = message;
      },

      title,
      cell,
      money,
    }));

    Alpine.data("panelView", (panel) => ({
      state: "loading",
      error: "",
      emptyText: "No data for this period yet.",
      rows: [],
      columns: [],
      figures: [],

      async init() {
        try {
          if (panel.query) await this.loadQuery();
          else await this.loadSource();
        } catch (error) {
          // 409 is a source's "nothing to show yet" (e.g. no forecast fitted): an empty state
          if (error.status === 409) {
            this.state = "empty";
            this.emptyText = error.message;
            return;
          }
          this.state = "error";
          this.error = explain(error);
        }
      },

      async loadSource() {
        // a source is a full /api/v1/... path; api() adds the prefix itself
        const path = panel.source.slice(API.length).replace("{project_id}", app.projectId);
        const rows = await api("GET", path);
        this.rows = rows;
        this.columns = panel.columns.length ? panel.columns : Object.keys(rows[0] || {});
        this.state = rows.length ? "ready" : "empty";
        if (!rows.length || panel.kind !== "line") return;
        await this.$nextTick();
        await draw(this.$refs.chart, bandSpec(rows, panel.x, panel.y, panel.bands));
      },

      async loadQuery() {
        const result = await api("POST", `/metrics/${app.projectId}/query`, panel.query);
        const labels = Object.fromEntries(result.metrics.map((m) => [m.name, m.label]));
        const names = result.metrics.map((m) => m.name);
        if (panel.kind === "figures") {
          this.figures = names.map((name) => {
            const change = result.changes ? result.changes[name] : null;
            const unit = result.units[name];
            const value = result.totals[name];
            return {
              name,
              label: labels[name] || title(name),
              value: unit === "percent" && value !== null ? cell(value) + " %" : cell(value),
              change: change === undefined ? null : change,
              changeText: change === null || change === undefined ? "" : `${change > 0 ? "+" : ""}${cell(change)} %`,
            };
          });
          this.state = "ready";
          return;
        }
        this.rows = result.rows;
        this.columns = result.columns;
        const hasData = result.rows.some((row) => names.some((name) => Number(row[name])));
        this.state = hasData ? "ready" : "empty";
        if (!hasData || panel.kind === "table") return;
        const dimension = result.group_by[0];
        const spec =
          panel.kind === "line"
            ? lineSpec(result.rows, dimension, names, labels)
            : barSpec(result.rows, dimension, names[0]);
        await this.$nextTick();
        await draw(this.$refs.chart, spec);
      },
    }));

    Alpine.data("chatView", () => ({
      conversations: [],
      conversationId: null,
      messages: [],
      question: "",
      pending: false,
      started: 0,
      now: 0,
      stepText: "",
      error: "",
      timer: null,

      init() {
        this.loadConversations();
      },

      destroy() {
        clearInterval(this.timer);
      },

      async loadConversations() {
        try {
          this.conversations = await api("GET", `/assistant/${app.projectId}/conversations?page_size=30`);
        } catch (error) {
          this.error = explain(error);
        }
      },

      newConversation() {
        this.conversationId = null;
        this.messages = [];
        this.error = "";
        document.getElementById("question").focus();
      },

      async open(id) {
        this.error = "";
        try {
          const conversation = await api("GET", `/assistant/${app.projectId}/conversations/${id}`);
          this.conversationId = id;
          this.messages = fromHistory(conversation.messages);
        } catch (error) {
          this.error = explain(error);
        }
      },

      progressText() {
        const seconds = Math.max(0, Math.round((this.now - this.started) / 1000));
        return `Working: ${this.stepText} (${seconds} s)`;
      },

      onStep(frame) {
        if (frame.type === "tool_call") {
          this.stepText = `calling ${frame.name}`;
          this.messages.push({ role: "step", text: `Calling ${frame.name}` });
        } else if (frame.type === "tool_result") {
          this.stepText = "writing the answer";
          const outcome = frame.ok ? frame.summary : `failed: ${frame.summary}`;
          this.messages.push({ role: "step", text: `${frame.name}: ${outcome}` });
        }
      },

      async ask() {
        const question = this.question.trim();
        if (!question || this.pending) return;
        this.messages.push({ role: "user", text: question });
        this.question = "";
        this.error = "";
        this.pending = true;
        this.stepText = "thinking";
        this.started = this.now = Date.now();
        this.timer = setInterval(() => {
          this.now = Date.now();
        }, 500);
        try {
          const result = await chat.ask(
            { project_id: app.projectId, message: question, conversation_id: this.conversationId },
            (frame) => this.onStep(frame),
          );
          this.conversationId = result.conversation_id;
          this.messages.push({ role: "assistant", text: result.reply, tables: tablesOf(result.function_calls) });
          this.loadConversations();
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.pending = false;
          clearInterval(this.timer);
        }
      },

      drawSeries(element, table) {
        if (table.series) draw(element, table.series).catch(() => {});
      },
    }));

    Alpine.data("inboxView", () => ({
      threads: [],
      channel: "",
      openKey: null,
      current: null,
      thread: [],
      order: null,
      reply: "",
      error: "",
      loading: true,
      drafting: false,
      sending: false,

      init() {
        this.listener = () => this.load();
        window.addEventListener("nebulo:message", this.listener);
        this.load();
      },

      destroy() {
        window.removeEventListener("nebulo:message", this.listener);
      },

      async load() {
        try {
          const messages = await api("GET", `/messages/${app.projectId}/inbox?page_size=500`);
          this.threads = groupThreads(messages);
          if (this.openKey) {
            const current = this.threads.find((thread) => thread.key === this.openKey);
            if (current) {
              this.current = current;
              await this.loadThread();
            }
          }
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.loading = false;
        }
      },

      channels() {
        return [...new Set(this.threads.map((thread) => thread.provider))].sort();
      },

      visible() {
        return this.threads.filter((thread) => !this.channel || thread.provider === this.channel);
      },

      async open(thread) {
        this.openKey = thread.key;
        this.current = thread;
        this.reply = "";
        this.error = "";
        this.order = null;
        await this.loadThread();
        if (thread.orderId && app.has("orders") && app.can("view_order")) {
          this.order = await api("GET", `/orders/${app.projectId}/${thread.orderId}`).catch(() => null);
        }
      },

      async loadThread() {
        const t = this.current;
        const base = `/messages/${app.projectId}/conversation`;
        let messages = t.messages;
        if (t.chatId) messages = await api("GET", `${base}/chat/${t.provider}/${encodeURIComponent(t.chatId)}`);
        else if (t.customerId) messages = await api("GET", `${base}/customer/${t.customerId}`);
        else if (t.orderId) messages = await api("GET", `${base}/${t.orderId}`);
        this.thread = messages.filter((m) => m.provider === t.provider);
      },

      lastInbound() {
        return [...this.thread].reverse().find((m) => m.direction === "inbound") || this.current.last;
      },

      async draft() {
        this.drafting = true;
        this.error = "";
        const last = this.lastInbound();
        try {
          const answer = this.current.orderId
            ? await api("POST", "/assistant/generate-reply", {
                project_id: app.projectId,
                order_id: this.current.orderId,
                customer_message: last.content,
              })
            : await api("POST", "/assistant/query", this.draftQuestion(last));
          this.reply = answer.reply;
          this.$nextTick(() => document.getElementById("reply").focus());
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.drafting = false;
        }
      },

      /* Without an order: the answer the assistant gives this customer about their own data
       * (the customer audience, as the bot would), or an operator's request for a draft. */
      draftQuestion(last) {
        if (this.current.customerId) {
          return { project_id: app.projectId, message: last.content, context: { customer_id: this.current.customerId } };
        }
        return {
          project_id: app.projectId,
          message: `Draft a short, friendly reply to this customer's message: "${last.content}"`,
        };
      },

      async send() {
        this.sending = true;
        this.error = "";
        const last = this.lastInbound();
        const body = {
          provider: this.current.provider,
          content: this.reply.trim(),
          integration_id: last.integration_id,
          order_id: this.current.orderId,
          customer_id: this.current.customerId,
          recipient: recipientOf(last),
        };
        for (const key of Object.keys(body)) if (body[key] === null || body[key] === undefined) delete body[key];
        try {
          await api("POST", `/messages/${app.projectId}/send`, body);
          this.reply = "";
          await this.markRead();
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.sending = false;
        }
      },

      async markRead() {
        const unread = this.thread.filter((m) => m.direction === "inbound" && !m.is_read);
        try {
          for (const message of unread) {
            await api("PATCH", `/messages/${app.projectId}/${message.id}/read`);
          }
        } catch (error) {
          this.error = explain(error);
        }
        await this.load();
        app.refreshUnread();
      },
    }));

    Alpine.data("reportsView", () => ({
      reports: [],
      types: [],
      form: { report_type: "sales", ...lastMonth() },
      loading: true,
      generating: false,
      progress: "",
      error: "",
      opened: null,
      openedHtml: "",

      async init() {
        try {
          const [reports, types] = await Promise.all([
            api("GET", `/reports/${app.projectId}?page_size=50`),
            api("GET", `/reports/${app.projectId}/types`),
          ]);
          this.reports = reports;
          this.types = types.map((t) => t.report_type);
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.loading = false;
        }
      },

      /* A long period answers 202 with a job: its progress shows until the report is there. */
      async generate() {
        this.generating = true;
        this.error = "";
        this.progress = "Generating…";
        try {
          const answer = await api("POST", `/reports/${app.projectId}/generate`, { ...this.form });
          if (answer.job_id) await this.follow(answer.job_id);
          this.reports = await api("GET", `/reports/${app.projectId}?page_size=50`);
        } catch (error) {
          this.error = explain(error);
        } finally {
          this.generating = false;
        }
      },

      async follow(jobId) {
        for (;;) {
          const job = await api("GET", `/jobs/${jobId}`);
          if (job.status === "finished") return;
          if (job.status === "failed") throw new ApiError(0, { detail: job.error || "The report failed" });
          this.progress = `Generating… ${Math.round(job.progress || 0)} %`;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      },

      async fetchFile(report, format) {
        const response = await fetch(`${API}/reports/${app.projectId}/${report.id}.${format}`, {
          headers: { Authorization: "Bearer " + tokens.access },
        });
        if (response.status === 401) {
          await refreshTokens().catch(sessionExpired);
          return this.fetchFile(report, format);
        }
        if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
        return response;
      },

      /* The report's page in a sandboxed frame: it runs no script and reaches nothing else. */
      async open(report) {
        this.error = "";
        try {
          this.openedHtml = await (await this.fetchFile(report, "html")).text();
          this.opened = report;
        } catch (error) {
          this.error = explain(error);
        }
      },

      async download(report, format) {
        this.error = "";
        try {
          const blob = await (await this.fetchFile(report, format)).blob();
          const link = document.createElement("a");
          link.href = URL.createObjectURL(blob);
          link.download = `${report.report_type}-${report.period_start}-${report.period_end}.${format}`;
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(link.href), 10000);
        } catch (error) {
          this.error = explain(error);
        }
      },
    }));
  });

  function lastMonth() {
    const today = new Date();
    const start = new Date(today.getFullYear(), today.getMonth() - 1, 1);
    const end = new Date(today.getFullYear(), today.getMonth(), 0);
    const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    return { start_date: day(start), end_date: day(end) };
  }

  /* Conversations of the inbox: a group chat, else a customer on one channel, else an order,
   * else the sender; unread ones first, then the most recent. */
  function groupThreads(messages) {
    const threads = new Map();
    for (const m of messages) {
      const person = m.direction === "inbound" ? m.sender || {} : m.recipient || {};
      let key;
      if (m.chat_id) key = `chat:${m.provider}:${m.chat_id}`;
      else if (m.customer_id) key = `customer:${m.provider}:${m.customer_id}`;
      else if (m.order_id) key = `order:${m.provider}:${m.order_id}`;
      else key = `sender:${m.provider}:${person.phone || person.chat_id || person.user_id || person.name}`;
      if (!threads.has(key)) {
        threads.set(key, {
          key,
          provider: m.provider,
          chatId: m.chat_id || null,
          customerId: m.customer_id || null,
          orderId: m.order_id || null,
          name: m.chat_title || person.name || person.phone || "Customer",
          last: m,
          messages: [],
          unread: 0,
        });
      }
      const thread = threads.get(key);
      thread.messages.push(m);
      thread.orderId = thread.orderId || m.order_id || null;
      if (m.direction === "inbound" && person.name && !m.chat_title) thread.name = person.name;
      if (m.direction === "inbound" && !m.is_read) thread.unread += 1;
      if (m.created_at > thread.last.created_at) thread.last = m;
    }
    return [...threads.values()].sort(
      (a, b) => (b.unread > 0) - (a.unread > 0) || (a.last.created_at < b.last.created_at ? 1 : -1),
    );
  }

  function recipientOf(message) {
    const sender = message.sender || {};
    const recipient = {};
    if (message.provider === "telegram") {
      const chatId = message.chat_id || sender.chat_id || sender.user_id;
      if (chatId) recipient.chat_id = String(chatId);
    } else if (sender.phone) {
      recipient.phone = sender.phone;
    }
    if (sender.name) recipient.name = sender.name;
    return recipient;
  }
})();
