/*
 * backinstock storefront widget: "Notify me when available" on any Shopify theme.
 *
 *   <script src="https://<service>/storefront/widget.js" data-shop="<shop>.myshopify.com" defer></script>
 *
 * Plain JavaScript, no framework. Everything it draws lives in shadow roots
 * (the theme's CSS can't reach in, ours can't leak out) and is built with
 * textContent, never innerHTML. Its styles are a constructed stylesheet, so a
 * strict Content-Security-Policy needs no 'unsafe-inline'. It talks to two
 * endpoints of the service the script came from: GET /storefront/config (once)
 * and POST /api/v1/intents.json (the storefront signup).
 */
(function () {
  "use strict";
  if (window.BackInStock && window.BackInStock.version) return; // included twice

  var script = document.currentScript;
  var SERVICE = new URL(script.src).origin;
  var SHOP = (script.dataset.shop || "").trim().toLowerCase();

  var TEXTS = {
    en: {
      button: "Notify me when available", title: "Get notified when it's back",
      intro: "We'll let you know as soon as this item is back in stock.",
      email: "Email", sms: "Text message", channel: "How should we tell you?",
      emailLabel: "Email address", phoneLabel: "Phone number", country: "Country code",
      consent: "I agree to receive a one-time text message when this item is back in stock. Message and data rates may apply. Reply STOP to opt out.",
      submit: "Notify me", sending: "Sending…", close: "Close",
      doneEmail: "We'll email you when it's back.", doneSms: "We'll text you when it's back.",
      doneConfirm: "Check your inbox to confirm your alert.",
      retry: "Too many requests right now. Please try again in a moment.",
      network: "We couldn't reach the server. Please check your connection and try again.",
      invalid: "Please check this field.", required: "This field is required.",
      consentRequired: "Please accept to receive a text message."
    },
    fr: {
      button: "M'avertir du retour en stock", title: "Soyez averti de son retour",
      intro: "Nous vous préviendrons dès que cet article sera de nouveau disponible.",
      email: "E-mail", sms: "SMS", channel: "Comment vous prévenir ?",
      emailLabel: "Adresse e-mail", phoneLabel: "Numéro de téléphone", country: "Indicatif",
      consent: "J'accepte de recevoir un SMS unique lorsque cet article sera de retour. Des frais peuvent s'appliquer. Répondez STOP pour vous désabonner.",
      submit: "M'avertir", sending: "Envoi…", close: "Fermer",
      doneEmail: "Nous vous enverrons un e-mail à son retour.", doneSms: "Nous vous enverrons un SMS à son retour.",
      doneConfirm: "Consultez votre boîte de réception pour confirmer votre alerte.",
      retry: "Trop de demandes pour le moment. Réessayez dans un instant.",
      network: "Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.",
      invalid: "Veuillez vérifier ce champ.", required: "Ce champ est obligatoire.",
      consentRequired: "Veuillez accepter de recevoir un SMS."
    },
    de: {
      button: "Benachrichtigen, wenn verfügbar", title: "Benachrichtigung bei Verfügbarkeit",
      intro: "Wir sagen Ihnen Bescheid, sobald dieser Artikel wieder vorrätig ist.",
      email: "E-Mail", sms: "SMS", channel: "Wie sollen wir Sie benachrichtigen?",
      emailLabel: "E-Mail-Adresse", phoneLabel: "Telefonnummer", country: "Ländervorwahl",
      consent: "Ich bin einverstanden, eine einmalige SMS zu erhalten, wenn der Artikel wieder da ist. Es können Gebühren anfallen. Antworten Sie STOP zum Abmelden.",
      submit: "Benachrichtigen", sending: "Wird gesendet…", close: "Schließen",
      doneEmail: "Wir schicken Ihnen eine E-Mail, sobald er wieder da ist.",
      doneSms: "Wir schicken Ihnen eine SMS, sobald er wieder da ist.",
      doneConfirm: "Bitte bestätigen Sie Ihre Benachrichtigung über den Link in Ihrem Postfach.",
      retry: "Gerade zu viele Anfragen. Bitte versuchen Sie es gleich noch einmal.",
      network: "Der Server ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
      invalid: "Bitte prüfen Sie dieses Feld.", required: "Dieses Feld ist erforderlich.",
      consentRequired: "Bitte stimmen Sie dem Erhalt einer SMS zu."
    },
    es: {
      button: "Avisarme cuando esté disponible", title: "Te avisamos cuando vuelva",
      intro: "Te avisaremos en cuanto este artículo vuelva a estar disponible.",
      email: "Correo", sms: "SMS", channel: "¿Cómo te avisamos?",
      emailLabel: "Correo electrónico", phoneLabel: "Número de teléfono", country: "Prefijo",
      consent: "Acepto recibir un único SMS cuando este artículo vuelva a estar disponible. Pueden aplicarse tarifas. Responde STOP para darte de baja.",
      submit: "Avisarme", sending: "Enviando…", close: "Cerrar",
      doneEmail: "Te enviaremos un correo cuando vuelva.", doneSms: "Te enviaremos un SMS cuando vuelva.",
      doneConfirm: "Revisa tu bandeja de entrada para confirmar tu aviso.",
      retry: "Demasiadas solicitudes ahora mismo. Inténtalo de nuevo en un momento.",
      network: "No pudimos conectar con el servidor. Revisa tu conexión e inténtalo de nuevo.",
      invalid: "Revisa este campo.", required: "Este campo es obligatorio.",
      consentRequired: "Acepta recibir un SMS."
    }
  };
  var COUNTRY_CODES = ["1", "44", "33", "49", "34", "39", "31", "32", "41", "43", "45", "46", "47", "353",
    "351", "61", "64", "52", "55", "81", "91"];

  function locale(requested) {
    var lang = (requested || document.documentElement.lang || navigator.language || "en").toLowerCase().slice(0, 2);
    return TEXTS[lang] ? lang : "en";
  }

  /* The texts of a locale, with data-text-* overrides from the script tag
   * (data-text-button="…" replaces `button`, data-text-done-email `doneEmail`). */
  function texts(lang) {
    var out = Object.assign({}, TEXTS.en, TEXTS[lang]);
    Object.keys(script.dataset).forEach(function (key) {
      if (key.indexOf("text") === 0 && key.length > 4) {
        out[key.charAt(4).toLowerCase() + key.slice(5)] = script.dataset[key];
      }
    });
    return out;
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent("backinstock:" + name, { detail: detail || {} }));
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var CSS = [
    // Inside a shadow root an !important beats the page's own !important: the
    // theme can't resize or recolour the widget, yet its font family and text colour carry in.
    ":host{all:initial!important;font-family:inherit!important;color:inherit!important;",
    "font-size:16px!important;line-height:1.4!important;color-scheme:light dark}",
    "[hidden]{display:none!important}",
    "*{box-sizing:border-box;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}",
    ".bis-button{display:block;width:100%;margin:12px 0 0;padding:12px 16px;border:1px solid currentColor;",
    "border-radius:4px;background:transparent;cursor:pointer;font-weight:600;text-align:center}",
    ".bis-button:hover{opacity:.8}.bis-button:focus-visible,button:focus-visible,input:focus-visible,",
    "select:focus-visible{outline:2px solid #2563eb;outline-offset:2px}",
    "dialog{width:min(440px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto;padding:24px;",
    "border:0;border-radius:8px;background:Canvas;color:CanvasText;box-shadow:0 10px 40px rgba(0,0,0,.3)}",
    "dialog::backdrop{background:rgba(0,0,0,.5)}",
    "h2{margin:0 32px 8px 0;font-size:1.25em;font-weight:700}p{margin:0 0 16px}",
    ".bis-close{position:absolute;top:12px;right:12px;width:36px;height:36px;border:0;background:transparent;",
    "font-size:24px;line-height:1;cursor:pointer}",
    "fieldset{border:0;margin:0 0 16px;padding:0}legend{margin:0 0 8px;font-weight:600}",
    ".bis-choice{display:inline-flex;align-items:center;gap:6px;margin:0 16px 0 0}",
    "label{display:block;margin:0 0 4px;font-weight:600}",
    "input[type=email],input[type=tel],select{display:block;width:100%;min-height:44px;padding:8px 10px;",
    "border:1px solid #8a8a8a;border-radius:4px;background:Field;color:FieldText}",
    ".bis-phone{display:flex;gap:8px}.bis-phone select{width:7.5em;flex:none}",
    ".bis-field{margin:0 0 16px}.bis-consent{display:flex;gap:8px;align-items:flex-start;font-weight:400}",
    ".bis-consent input{margin-top:4px;flex:none}",
    ".bis-error{margin:4px 0 0;color:#b91c1c;font-size:.9em}",
    "[aria-invalid=true]{border-color:#b91c1c}",
    ".bis-submit{width:100%;min-height:44px;padding:10px 16px;border:0;border-radius:4px;background:#111;color:#fff;",
    "font-weight:600;cursor:pointer}.bis-submit[disabled]{opacity:.6;cursor:progress}",
    ".bis-status{margin:12px 0 0}.bis-status:empty{display:none}",
    ".bis-done{padding:8px 0;font-weight:600}",
    "@media (prefers-color-scheme:dark){.bis-submit{background:#f5f5f5;color:#111}.bis-error{color:#fca5a5}}"
  ].join("");

  function shadowHost(tag) {
    var host = document.createElement(tag);
    var root = host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in root) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    }
    return { host: host, root: root };
  }

  /* ---- the service ---------------------------------------------------- */

  var configPromise = null;
  function loadConfig() {
    if (!configPromise) {
      configPromise = fetch(SERVICE + "/storefront/config?shop=" + encodeURIComponent(SHOP), { credentials: "omit" })
        .then(function (r) { if (!r.ok) throw new Error("config " + r.status); return r.json(); });
    }
    return configPromise;
  }

  /* The headless API: resolves with the created intent, rejects with
   * {status, errors, fields} (fields keyed email / phone / … for a 422). */
  function signup(options) {
    var channel = options.channel || (options.phone ? "sms" : "email");
    var body = {
      intent: { shopify_variant_id: Number(options.variantId), channel: channel, source: "storefront_widget" },
      customer: { locale: locale(options.locale), accepts_marketing: false }
    };
    if (options.productId) body.intent.shopify_product_id = Number(options.productId);
    if (options.email) body.customer.email = options.email;
    if (options.phone) body.customer.phone = options.phone;
    if (options.pushToken) body.customer.push = options.pushToken;
    if (options.name) body.customer.name = options.name;
    return fetch(SERVICE + "/api/v1/intents.json", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "X-Shopify-Shop-Domain": SHOP },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (payload) {
        if (r.ok) return payload.intent;
        var fields = {};
        Object.keys(payload.fields || {}).forEach(function (k) {
          fields[k.split(".").pop().replace(/^push$/, "pushToken")] = payload.fields[k];
        });
        throw { status: r.status, errors: payload.errors || [], fields: fields };
      });
    }, function () { throw { status: 0, errors: ["network"], fields: {} }; });
  }

  /* ---- the product page ----------------------------------------------- */

  function cartForm() { return document.querySelector('form[action*="/cart/add"]'); }

  function selectedVariantId(product) {
    var form = cartForm();
    var input = form && form.querySelector('[name="id"]');
    if (input && input.value) return String(input.value);
    var fromUrl = new URLSearchParams(location.search).get("variant");
    if (fromUrl) return fromUrl;
    var first = product && (product.variants.filter(function (v) { return v.available; })[0] || product.variants[0]);
    return first ? String(first.id) : null;
  }

  function productHandle(anchor) {
    if (anchor && anchor.dataset.productHandle) return anchor.dataset.productHandle;
    var m = location.pathname.match(/\/products\/([^/?#]+)/);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function loadProduct(handle) {
    if (!handle) return Promise.resolve(null);
    return fetch("/products/" + encodeURIComponent(handle) + ".js", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  /* ---- the dialog ------------------------------------------------------ */

  function Dialog(t, config, state) {
    var self = this;
    var ui = shadowHost("backinstock-dialog");
    this.host = ui.host;
    var channels = config.channels.filter(function (c) { return c === "email" || c === "sms"; });
    var titleId = "bis-title", liveId = "bis-live";
    this.dialog = el("dialog", { "aria-labelledby": titleId, "aria-describedby": "bis-intro" });
    var close = el("button", { type: "button", "class": "bis-close", "aria-label": t.close, text: "×" });
    close.addEventListener("click", function () { self.close(); });
    var form = el("form", { novalidate: "novalidate" });
    var choice = null;
    if (channels.length > 1) {
      choice = el("fieldset", {}, [el("legend", { text: t.channel })].concat(channels.map(function (c, i) {
        var radio = el("input", { type: "radio", name: "channel", value: c, id: "bis-ch-" + c, checked: i === 0 });
        radio.addEventListener("change", function () { self.show(c); });
        return el("label", { "class": "bis-choice", "for": "bis-ch-" + c }, [radio, document.createTextNode(t[c])]);
      })));
    }
    this.email = el("input", { type: "email", id: "bis-email", name: "email", autocomplete: "email", required: true });
    this.country = el("select", { id: "bis-country", "aria-label": t.country },
      COUNTRY_CODES.map(function (c) { return el("option", { value: c, text: "+" + c }); }));
    this.phone = el("input", { type: "tel", id: "bis-phone", name: "phone", autocomplete: "tel-national",
      inputmode: "tel", required: true });
    this.consent = el("input", { type: "checkbox", id: "bis-consent", required: true });
    this.errors = {};
    var field = function (name, label, control) {
      var err = el("p", { "class": "bis-error", id: "bis-err-" + name, "aria-live": "polite" });
      self.errors[name] = err;
      return el("div", { "class": "bis-field", "data-field": name }, [label, control, err]);
    };
    this.emailField = field("email", el("label", { "for": "bis-email", text: t.emailLabel }), this.email);
    this.phoneField = field("phone", el("label", { "for": "bis-phone", text: t.phoneLabel }),
      el("div", { "class": "bis-phone" }, [this.country, this.phone]));
    this.consentField = field("consent", null,
      el("label", { "class": "bis-consent", "for": "bis-consent" }, [this.consent, document.createTextNode(config.texts && config.texts.sms_consent || t.consent)]));
    this.submit = el("button", { type: "submit", "class": "bis-submit", text: t.submit });
    this.status = el("p", { "class": "bis-status", id: liveId, role: "status", "aria-live": "polite" });
    form.append(choice || document.createTextNode(""), this.emailField, this.phoneField, this.consentField,
      this.submit, this.status);
    form.addEventListener("submit", function (e) { e.preventDefault(); self.send(); });
    this.body = el("div", {}, [el("h2", { id: titleId, text: t.title }), el("p", { id: "bis-intro", text: t.intro }), form]);
    this.dialog.append(close, this.body);
    this.dialog.addEventListener("cancel", function (e) { e.preventDefault(); self.close(); }); // Esc
    this.dialog.addEventListener("keydown", function (e) { if (e.key === "Tab") self.trap(e); });
    this.dialog.addEventListener("click", function (e) { if (e.target === self.dialog) self.close(); });
    ui.root.appendChild(this.dialog);
    document.body.appendChild(ui.host);
    this.t = t; this.config = config; this.state = state; this.busy = false;
    this.show(channels[0] || "email");
  }

  /* A modal <dialog> keeps the page inert, but Tab may still leave for the
   * browser's own UI: cycle within the dialog instead. */
  Dialog.prototype.trap = function (e) {
    var items = Array.prototype.filter.call(
      this.dialog.querySelectorAll("button, input, select, a[href]"),
      function (n) { return !n.disabled && n.offsetParent !== null && !(n.type === "radio" && !n.checked); });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = this.dialog.getRootNode().activeElement;
    if (e.shiftKey && active === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && active === last) { e.preventDefault(); first.focus(); }
  };

  Dialog.prototype.show = function (channel) {
    this.channel = channel;
    this.emailField.hidden = channel !== "email";
    this.phoneField.hidden = channel !== "sms";
    this.consentField.hidden = channel !== "sms";
  };

  Dialog.prototype.open = function (opener) {
    this.opener = opener;
    this.dialog.showModal(); // top layer: the page behind is inert, Tab stays inside
    (this.channel === "sms" ? this.phone : this.email).focus();
    emit("modal:opened", { variantId: this.state.variantId });
  };

  Dialog.prototype.close = function () {
    this.dialog.close();
    if (this.opener) this.opener.focus();
  };

  Dialog.prototype.fieldError = function (name, message) {
    var input = { email: this.email, phone: this.phone, consent: this.consent }[name];
    this.errors[name].textContent = message || "";
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
    if (input && message) input.setAttribute("aria-describedby", "bis-err-" + name);
  };

  Dialog.prototype.send = function () {
    if (this.busy) return; // one submit at a time
    var t = this.t, self = this, channel = this.channel;
    ["email", "phone", "consent"].forEach(function (n) { self.fieldError(n, ""); });
    this.status.textContent = "";
    var options = { variantId: this.state.variantId, productId: this.state.productId, channel: channel };
    if (channel === "email") {
      if (!this.email.value.trim()) return this.invalid("email", t.required);
      options.email = this.email.value.trim();
    } else {
      var digits = this.phone.value.replace(/[^0-9]/g, "");
      if (!digits) return this.invalid("phone", t.required);
      if (!this.consent.checked) return this.invalid("consent", t.consentRequired);
      options.phone = "+" + this.country.value + digits.replace(/^0+/, "");
    }
    this.busy = true;
    this.submit.disabled = true;
    this.submit.textContent = t.sending;
    signup(options).then(function (intent) {
      emit("signup:submitted", { variantId: String(options.variantId), channel: channel, status: "created" });
      var text = self.config.optin_required ? t.doneConfirm : channel === "sms" ? t.doneSms : t.doneEmail;
      var done = el("p", { "class": "bis-done", role: "status", "aria-live": "polite", text: text });
      self.body.replaceChildren(el("h2", { id: "bis-title", text: t.title }), done);
      self.dialog.querySelector(".bis-close").focus();
      return intent;
    }, function (error) {
      emit("signup:submitted", { variantId: String(options.variantId), channel: channel,
        status: error.status === 422 ? "invalid" : "error" });
      if (error.status === 422) {
        var shown = false;
        Object.keys(error.fields).forEach(function (k) {
          if (self.errors[k]) { self.invalid(k, (error.fields[k] || [])[0] || t.invalid); shown = true; }
        });
        if (!shown) self.status.textContent = error.errors[0] || t.invalid;
      } else {
        self.status.textContent = error.status === 429 ? t.retry : t.network;
      }
    }).then(function () {
      self.busy = false;
      self.submit.disabled = false;
      self.submit.textContent = t.submit;
    });
  };

  Dialog.prototype.invalid = function (name, message) {
    this.fieldError(name, message);
    var input = { email: this.email, phone: this.phone, consent: this.consent }[name];
    if (input) input.focus();
  };

  /* ---- the button ------------------------------------------------------ */

  function mount(config) {
    var anchor = document.querySelector("[data-backinstock]");
    var lang = locale(anchor && anchor.dataset.locale);
    var t = texts(lang);
    var ui = shadowHost("backinstock-button");
    var button = el("button", { type: "button", "class": "bis-button", "aria-haspopup": "dialog", text: t.button });
    var wrap = el("div", { hidden: true }, [button]);
    ui.root.appendChild(wrap);
    if (anchor) anchor.appendChild(ui.host);
    else {
      var form = cartForm();
      if (!form) return null;
      form.insertAdjacentElement("afterend", ui.host);
    }
    var state = { variantId: null, productId: null, product: null };
    var dialog = null;
    button.addEventListener("click", function () {
      dialog = dialog || new Dialog(t, config, state);
      dialog.open(button);
    });

    function refresh() {
      var product = state.product;
      var explicit = anchor && anchor.dataset.variantId;
      state.variantId = explicit || selectedVariantId(product);
      state.productId = (anchor && anchor.dataset.productId) || (product && product.id) || null;
      var variant = product && product.variants.filter(function (v) { return String(v.id) === String(state.variantId); })[0];
      // Explicit placement without product data: the merchant put it where it is wanted.
      var soldOut = variant ? !variant.available : !!anchor;
      wrap.hidden = !soldOut || !state.variantId;
    }

    return loadProduct(productHandle(anchor)).then(function (product) {
      state.product = product;
      refresh();
      var form = cartForm();
      if (form) form.addEventListener("change", function () { setTimeout(refresh, 0); });
      window.addEventListener("popstate", refresh);
      return { refresh: refresh, state: state };
    });
  }

  var api = {
    version: "1",
    signup: signup,
    config: loadConfig,
    refresh: function () {}
  };
  window.BackInStock = api;

  function start() {
    if (!SHOP) return;
    loadConfig().then(mount).then(function (mounted) {
      if (mounted) api.refresh = mounted.refresh;
      emit("loaded", { shop: SHOP });
    }).catch(function () { /* the service unreachable: no button, the page is unaffected */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
