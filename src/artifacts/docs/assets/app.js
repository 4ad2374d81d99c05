/* sluice docs: the site's only script. No framework, no network: data comes from
   data/index.js (loaded by index.html) and data/s<k>.js (loaded on demand). */
(function () {
  'use strict';

  var VERSION = (function () {
    var s = document.currentScript && document.currentScript.src;
    var m = s && s.match(/[?&]v=([^&]+)/);
    return m ? m[1] : '';
  })();

  var D = null;          // the index
  var NODES = [];        // index rows as objects
  var BY_ID = {};        // unique id -> node
  var SHARDS = {};       // shard number -> {index: page}
  var WAITING = {};      // shard number -> callbacks
  var TYPE_ORDER = ['model', 'source', 'seed', 'snapshot', 'analysis', 'exposure', 'semantic_model', 'metric'];
  var TYPE_LABEL = {
    model: 'Models', source: 'Sources', seed: 'Seeds', snapshot: 'Snapshots', analysis: 'Analyses',
    exposure: 'Exposures', semantic_model: 'Semantic models', metric: 'Metrics'
  };
  var activeTypes = {};  // type -> shown in the list
  var lastRoute = null;

  var api = window.sluiceDocs = {
    timings: {},
    index: function (d) {
      api.timings.indexLoaded = performance.now();
      D = d;
      boot();
    },
    shard: function (k, pages) {
      SHARDS[k] = pages;
      var cbs = WAITING[k] || [];
      delete WAITING[k];
      cbs.forEach(function (f) { f(); });
    }
  };

  // ---------- helpers ----------
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function href(n) { return '#/node/' + encodeURIComponent(n.id); }
  function link(n) {
    return '<a href="' + href(n) + '" title="' + esc(n.id) + '">' + badge(n.type) + esc(n.name) + '</a>';
  }
  function badge(t) { return '<span class="badge t-' + esc(t) + '">' + esc(t.replace('_', ' ')) + '</span>'; }
  function status(s) {
    if (s == null) return '';
    return '<span class="status s-' + esc(s) + '">' + esc(s) + '</span>';
  }
  function section(title, body, id) {
    return '<section' + (id ? ' id="' + id + '"' : '') + '><h2>' + esc(title) + '</h2>' + body + '</section>';
  }
  function kv(rows) {
    var h = '<table class="kv">';
    rows.forEach(function (r) {
      if (r[1] == null || r[1] === '') return;
      h += '<tr><th>' + esc(r[0]) + '</th><td>' + r[1] + '</td></tr>';
    });
    return h + '</table>';
  }
  function jsonText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

  // Loads the shard holding node i, then calls cb(page).
  function withPage(n, cb) {
    var k = Math.floor(n.i / D.shard_size);
    if (SHARDS[k]) { cb(SHARDS[k][n.i] || {}); return; }
    var first = !WAITING[k];
    (WAITING[k] = WAITING[k] || []).push(function () { cb(SHARDS[k][n.i] || {}); });
    if (first) {
      var s = document.createElement('script');
      s.src = 'data/s' + k + '.js' + (VERSION ? '?v=' + VERSION : '');
      s.onerror = function () { $('main').innerHTML = '<p class="error">Cannot load data/s' + k + '.js</p>'; };
      document.head.appendChild(s);
    }
  }
  function withPages(nodes, cb) {
    var left = nodes.length, out = {};
    if (!left) { cb(out); return; }
    nodes.forEach(function (n) {
      withPage(n, function (p) { out[n.id] = p; if (--left === 0) cb(out); });
    });
  }

  // ---------- SQL highlighting ----------
  var KW = {};
  ('select from where and or not as on join left right inner outer full cross group by order having ' +
    'limit offset union all distinct case when then else end with is null in between like ilike create ' +
    'table view insert into values update delete set cast over partition window asc desc true false ' +
    'exists interval using qualify natural lateral rows range preceding following unbounded current ' +
    'row filter except intersect recursive replace if merge matched returning temporary temp').split(' ')
    .forEach(function (k) { KW[k] = 1; });
  var SQL_RE = /(\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\})|(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*')|("(?:[^"]|"")*")|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)(?=\s*\()?/g;
  function highlight(sql) {
    var out = '', last = 0, m;
    SQL_RE.lastIndex = 0;
    while ((m = SQL_RE.exec(sql))) {
      out += esc(sql.slice(last, m.index));
      var t = m[0], cls = null;
      if (m[1]) cls = 'jinja';
      else if (m[2]) cls = 'comment';
      else if (m[3]) cls = 'string';
      else if (m[4]) cls = 'ident';
      else if (m[5]) cls = 'number';
      else if (m[6]) {
        if (KW[t.toLowerCase()]) cls = 'kw';
        else if (/^\s*\(/.test(sql.slice(m.index + t.length, m.index + t.length + 2))) cls = 'fn';
      }
      out += cls ? '<span class="' + cls + '">' + esc(t) + '</span>' : esc(t);
      last = m.index + t.length;
    }
    return out + esc(sql.slice(last));
  }

  // ---------- boot, list and search ----------
  function boot() {
    var types = D.types;
    NODES = D.nodes.map(function (r, i) {
      var n = {
        i: i, id: r[0], type: types[r[1]], name: r[2], pkg: r[3], group: r[4], desc: r[5],
        tags: r[6], parents: r[7], children: []
      };
      n.lname = n.name.toLowerCase();
      n.hay = (n.name + ' ' + n.id + ' ' + n.group + ' ' + n.tags + ' ' + n.desc).toLowerCase();
      BY_ID[n.id] = n;
      return n;
    });
    NODES.forEach(function (n) {
      n.parents.forEach(function (p) { NODES[p].children.push(n.i); });
    });
    document.title = D.project.name + ' · sluice docs';
    var counts = {};
    NODES.forEach(function (n) { counts[n.type] = (counts[n.type] || 0) + 1; });
    var f = '';
    TYPE_ORDER.forEach(function (t) {
      if (!counts[t]) return;
      activeTypes[t] = true;
      f += '<label class="chip"><input type="checkbox" data-type="' + t + '" checked> ' +
        esc(TYPE_LABEL[t]) + ' <small>' + counts[t] + '</small></label>';
    });
    $('filters').innerHTML = f;
    $('filters').addEventListener('change', function (e) {
      var t = e.target.getAttribute('data-type');
      if (t) { activeTypes[t] = e.target.checked; renderList(); }
    });
    var timer = null;
    $('search').addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(renderList, NODES.length > 2000 ? 60 : 0);
    });
    $('search').addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        var a = $('results').querySelector('a');
        if (a) location.hash = a.getAttribute('href');
      }
    });
    window.addEventListener('hashchange', route);
    renderList();
    route();
    api.timings.booted = performance.now();
  }

  function search(q) {
    var words = q.toLowerCase().split(/\s+/).filter(Boolean);
    var hits = [];
    for (var i = 0; i < NODES.length; i++) {
      var n = NODES[i];
      if (!activeTypes[n.type]) continue;
      var ok = true;
      for (var w = 0; w < words.length; w++) {
        if (n.hay.indexOf(words[w]) < 0) { ok = false; break; }
      }
      if (!ok) continue;
      var score = 4;
      if (words.length) {
        var q0 = words.join(' ');
        if (n.lname === q0) score = 0;
        else if (n.lname.indexOf(q0) === 0) score = 1;
        else if (n.lname.indexOf(q0) >= 0) score = 2;
        else if (n.lname.indexOf(words[0]) >= 0) score = 3;
      }
      hits.push([score, TYPE_ORDER.indexOf(n.type), n]);
    }
    hits.sort(function (a, b) {
      return a[0] - b[0] || a[1] - b[1] || (a[2].lname < b[2].lname ? -1 : a[2].lname > b[2].lname ? 1 : 0);
    });
    return hits.map(function (h) { return h[2]; });
  }

  var LIST_LIMIT = 300;
  function renderList() {
    var q = $('search').value.trim();
    var hits = search(q);
    var h = '', shownType = null;
    hits.slice(0, LIST_LIMIT).forEach(function (n) {
      if (!q && n.type !== shownType) {
        shownType = n.type;
        h += '<li class="group">' + esc(TYPE_LABEL[n.type] || n.type) + '</li>';
      }
      h += '<li><a href="' + href(n) + '" data-id="' + esc(n.id) + '">' + badge(n.type) +
        '<span class="name">' + esc(n.name) + '</span>' +
        (n.group ? '<small>' + esc(n.group) + '</small>' : '') + '</a></li>';
    });
    $('results').innerHTML = h;
    $('count').textContent = hits.length > LIST_LIMIT
      ? hits.length + ' matches, first ' + LIST_LIMIT + ' shown' : hits.length + (hits.length === 1 ? ' match' : ' matches');
    markActive();
    api.timings.lastSearch = performance.now();
  }

  function markActive() {
    var cur = decodeURIComponent((location.hash.match(/^#\/node\/(.+)$/) || [])[1] || '');
    var as = $('results').querySelectorAll('a.active');
    for (var i = 0; i < as.length; i++) as[i].classList.remove('active');
    if (cur) {
      var a = $('results').querySelector('a[data-id="' + cur.replace(/"/g, '\\"') + '"]');
      if (a) a.classList.add('active');
    }
  }

  // ---------- routing ----------
  function route() {
    var h = location.hash || '#/overview';
    var navs = document.querySelectorAll('[data-nav]');
    for (var i = 0; i < navs.length; i++) navs[i].classList.remove('on');
    var m;
    var main = $('main');
    main.removeAttribute('data-rendered');
    if ((m = h.match(/^#\/node\/([^?]+)/))) {
      var n = BY_ID[decodeURIComponent(m[1])];
      if (!n) { main.innerHTML = '<p class="error">No such node: ' + esc(decodeURIComponent(m[1])) + '</p>'; return; }
      main.innerHTML = '<p class="muted">Loading ' + esc(n.name) + '…</p>';
      withPage(n, function (p) {
        if (location.hash !== h) return;
        renderNode(n, p);
        main.scrollTop = 0;
        main.setAttribute('data-rendered', 'node:' + n.id);
        api.timings.nodeRendered = performance.now();
      });
    } else if ((m = h.match(/^#\/lineage(?:\/([^?]*))?(?:\?(.*))?$/))) {
      nav('lineage');
      renderLineagePage(m[1] ? decodeURIComponent(m[1]) : '', parseQuery(m[2] || ''));
      main.setAttribute('data-rendered', 'lineage');
    } else if (/^#\/metrics/.test(h)) {
      nav('metrics');
      renderMetrics();
    } else {
      nav('overview');
      renderOverview();
      main.setAttribute('data-rendered', 'overview');
    }
    markActive();
    lastRoute = h;
  }
  function nav(k) {
    var a = document.querySelector('[data-nav="' + k + '"]');
    if (a) a.classList.add('on');
  }
  function parseQuery(q) {
    var o = {};
    q.split('&').forEach(function (kvp) {
      if (!kvp) return;
      var p = kvp.split('=');
      o[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || '');
    });
    return o;
  }

  // ---------- pages ----------
  function renderOverview() {
    var counts = {};
    NODES.forEach(function (n) { counts[n.type] = (counts[n.type] || 0) + 1; });
    var h = '<div class="page-head"><h1>' + esc(D.project.name) + '</h1><div class="sub">' +
      esc(D.project.adapter_type) + ' · generated ' + esc(D.project.generated_at) + '</div></div>';
    if (D.project.overview) {
      h += '<div class="md">' + D.project.overview + '</div>';
    } else {
      h += '<div class="md"><p>Welcome to the documentation of <b>' + esc(D.project.name) + '</b>. ' +
        'Pick a model, source or metric on the left, search by name, description or tag, or explore the ' +
        '<a href="#/lineage">lineage graph</a> and the <a href="#/metrics">metrics catalog</a>.</p>' +
        '<p>Descriptions come from the properties YAML and <code>{% docs %}</code> blocks; column types ' +
        'from the warehouse (<code>catalog.json</code>); test results from the last ' +
        '<code>run_results.json</code>.</p></div>';
    }
    var cards = '';
    TYPE_ORDER.forEach(function (t) {
      if (counts[t]) cards += '<div class="card"><div class="num">' + counts[t] + '</div><div>' + esc(TYPE_LABEL[t]) + '</div></div>';
    });
    h += '<div class="cards">' + cards + '</div>';
    if (!D.project.has_catalog) h += '<p class="note">No relations were found in the warehouse: build the project, then run <code>sluice docs generate</code> again to see column types.</p>';
    $('main').innerHTML = h;
  }

  function testList(tests) {
    if (!tests || !tests.length) return '<p class="muted">No tests.</p>';
    var h = '<table class="grid tests"><tr><th>Test</th><th>Type</th><th>Column</th><th>Last result</th></tr>';
    tests.forEach(function (t) {
      var r = t.result || {};
      h += '<tr><td><code title="' + esc(t.id) + '">' + esc(t.name) + '</code></td><td>' + esc(t.kind) +
        '</td><td>' + esc(t.column || '') + '</td><td>' + (r.status ? status(r.status) +
        (r.failures ? ' <small>' + esc(r.failures) + ' failing rows</small>' : '') : '<span class="muted">not run</span>') + '</td></tr>';
    });
    return h + '</table>';
  }

  function columnsTable(cols) {
    if (!cols || !cols.length) return '<p class="muted">No columns documented or found in the warehouse.</p>';
    var h = '<table class="grid cols"><tr><th>Column</th><th>Type</th><th>Description</th><th>Tests</th></tr>';
    cols.forEach(function (c) {
      var tests = (c.tests || []).map(function (t) {
        return '<span class="pill' + (t.status ? ' s-' + esc(t.status) : '') + '" title="' + esc(t.id) +
          (t.status ? ': ' + esc(t.status) : '') + '">' + esc(t.kind) + '</span>';
      }).join(' ');
      h += '<tr><td><code>' + esc(c.name) + '</code>' + (c.not_in_warehouse ? ' <small class="warn" title="documented, but not in the warehouse relation">missing</small>' : '') +
        '</td><td class="type">' + esc(c.type || '') + '</td><td class="md">' + (c.description || '') +
        ((c.tags && c.tags.length) ? '<div>' + c.tags.map(tag).join(' ') + '</div>' : '') + '</td><td>' + tests + '</td></tr>';
    });
    return h + '</table>';
  }
  function tag(t) { return '<span class="tag">' + esc(t) + '</span>'; }

  function nodeList(idxs) {
    if (!idxs.length) return '<p class="muted">None.</p>';
    return '<ul class="links">' + idxs.map(function (i) { return '<li>' + link(NODES[i]) + '</li>'; }).join('') + '</ul>';
  }
  function idLink(id) {
    var n = BY_ID[id];
    return n ? link(n) : '<code>' + esc(id) + '</code>';
  }

  function codeBlock(p) {
    if (p.raw_code == null) return '';
    var tabs = '<div class="tabs"><button data-tab="raw" class="on">Source</button>' +
      (p.compiled_code != null ? '<button data-tab="compiled">Compiled</button>' : '') + '</div>';
    return section('Code', tabs + '<pre class="sql" data-pane="raw">' + highlight(p.raw_code) + '</pre>' +
      (p.compiled_code != null ? '<pre class="sql" data-pane="compiled" hidden>' + highlight(p.compiled_code) + '</pre>' : ''), 'code');
  }

  function renderNode(n, p) {
    var h = '<div class="page-head">' + badge(n.type) + '<h1>' + esc(n.name) + '</h1>';
    var facts = [];
    if (p.relation) facts.push('<code>' + esc(p.relation) + '</code>');
    if (p.materialized) facts.push(esc(p.materialized));
    if (p.warehouse && p.warehouse.type) facts.push(esc(p.warehouse.type.toLowerCase()));
    if (p.warehouse && p.warehouse.row_count != null) facts.push(esc(Number(p.warehouse.row_count).toLocaleString('en-US')) + ' rows');
    if (p.result) facts.push('last run ' + status(p.result.status));
    h += '<div class="sub">' + facts.join(' · ') + '</div>';
    if (p.tags && p.tags.length) h += '<div class="tags">' + p.tags.map(tag).join(' ') + '</div>';
    h += '</div>';
    var details = [['unique id', '<code>' + esc(n.id) + '</code>'], ['package', esc(p.package || n.pkg)],
      ['file', p.path ? '<code>' + esc(p.path) + '</code>' : null],
      ['properties', p.patch_path ? '<code>' + esc(p.patch_path.replace(/^[^:]*:\/\//, '')) + '</code>' : null]];
    if (p.owner) details.push(['owner', esc(typeof p.owner === 'object' ? [p.owner.name, p.owner.email].filter(Boolean).join(' · ') : p.owner)]);
    if (p.type && n.type === 'exposure') details.push(['exposure type', esc(p.type)]);
    if (p.maturity) details.push(['maturity', esc(p.maturity)]);
    if (p.url) details.push(['url', /^https?:\/\//.test(p.url) ? '<a href="' + esc(p.url) + '">' + esc(p.url) + '</a>' : esc(p.url)]);
    if (p.source) {
      details.push(['source', esc(p.source.source_name)]);
      details.push(['loader', esc(p.source.loader)]);
      details.push(['loaded at field', esc(p.source.loaded_at_field || '')]);
    }
    if (p.meta && Object.keys(p.meta).length) {
      Object.keys(p.meta).sort().forEach(function (k) { if (k !== 'owner') details.push(['meta: ' + k, esc(jsonText(p.meta[k]))]); });
    }
    h += section('Description', p.description ? '<div class="md">' + p.description + '</div>' : '<p class="muted">No description.</p>', 'description');
    if (p.source && p.source.source_description) h += section('Source description', '<div class="md">' + p.source.source_description + '</div>');
    if (n.type === 'metric') h += metricSection(n, p);
    if (n.type === 'semantic_model') h += semanticSection(n, p);
    if (n.type !== 'metric' && n.type !== 'semantic_model' && n.type !== 'exposure') h += section('Columns', columnsTable(p.columns), 'columns');
    h += section('Details', kv(details));
    h += section('Lineage', '<div class="lineage-controls">' + depthControls(1, 1) +
      ' <a href="#/lineage/' + encodeURIComponent(n.id) + '?u=2&d=2">Open in the lineage view →</a></div>' +
      '<div class="graph small" id="node-graph"></div>', 'lineage');
    h += '<div class="two">' + section('Depends on', nodeList(n.parents)) + section('Referenced by', nodeList(n.children)) + '</div>';
    if (n.type !== 'metric' && n.type !== 'semantic_model') h += section('Tests', testList(p.tests), 'tests');
    h += codeBlock(p);
    var main = $('main');
    main.innerHTML = h;
    var tabs = main.querySelector('.tabs');
    if (tabs) tabs.addEventListener('click', function (e) {
      var t = e.target.getAttribute('data-tab');
      if (!t) return;
      var bs = tabs.querySelectorAll('button');
      for (var i = 0; i < bs.length; i++) bs[i].classList.toggle('on', bs[i] === e.target);
      var ps = main.querySelectorAll('[data-pane]');
      for (var j = 0; j < ps.length; j++) ps[j].hidden = ps[j].getAttribute('data-pane') !== t;
    });
    var g = new Graph($('node-graph'), { onClick: function (m) { location.hash = href(m); } });
    var ctl = main.querySelector('.lineage-controls');
    function draw() {
      g.show(n.i, +ctl.querySelector('[name=u]').value, +ctl.querySelector('[name=d]').value);
    }
    ctl.addEventListener('change', draw);
    draw();
  }

  function depthControls(u, d) {
    function sel(name, v) {
      var h = '<select name="' + name + '">';
      [0, 1, 2, 3, 5, 10, 99].forEach(function (k) {
        h += '<option value="' + k + '"' + (k === v ? ' selected' : '') + '>' + (k === 99 ? 'all' : k) + '</option>';
      });
      return h + '</select>';
    }
    return '<label>upstream ' + sel('u', u) + '</label> <label>downstream ' + sel('d', d) + '</label>';
  }

  function metricSection(n, p) {
    var def = [['type', '<b>' + esc(p.type || '') + '</b>'], ['label', esc(p.label || '')]];
    Object.keys(p.definition || {}).forEach(function (k) { def.push([k, '<code>' + esc(p.definition[k]) + '</code>']); });
    if (p.time_granularity) def.push(['time granularity', esc(p.time_granularity)]);
    var inputs = (p.inputs || []).map(function (i) {
      var target = i.id ? idLink(i.id) : '<code>' + esc(i.name) + '</code>';
      var extra = [];
      if (i.semantic_model) extra.push('from ' + idLink(i.semantic_model));
      ['alias', 'offset_window', 'offset_to_grain', 'fill_nulls_with'].forEach(function (k) { if (i[k]) extra.push(k + ' ' + esc(i[k])); });
      if (i.filter) extra.push('filter <code>' + esc(i.filter.join(' and ')) + '</code>');
      return '<tr><td>' + esc(i.role) + '</td><td>' + esc(i.kind) + '</td><td>' + target + '</td><td>' + extra.join('; ') + '</td></tr>';
    }).join('');
    var h = kv(def);
    h += '<h3>Inputs</h3>' + (inputs ? '<table class="grid"><tr><th>Role</th><th>Kind</th><th>Name</th><th></th></tr>' + inputs + '</table>' : '<p class="muted">None.</p>');
    h += '<h3>Filters</h3>' + ((p.filters && p.filters.length) ? '<ul>' + p.filters.map(function (f) { return '<li><code>' + esc(f) + '</code></li>'; }).join('') + '</ul>' : '<p class="muted">None.</p>');
    h += '<h3>Dimensions to group by</h3>' + ((p.dimensions && p.dimensions.length) ? '<div class="dims">' + p.dimensions.map(function (d) { return '<code>' + esc(d) + '</code>'; }).join(' ') + '</div>' : '<p class="muted">None.</p>');
    h += '<h3>Built on</h3><ul class="links">' + (p.semantic_models || []).map(function (s) { return '<li>' + idLink(s) + '</li>'; }).join('') +
      (p.models || []).map(function (s) { return '<li>' + idLink(s) + '</li>'; }).join('') + '</ul>';
    return section('Definition', h, 'definition');
  }

  function semanticSection(n, p) {
    var h = kv([['model', p.model ? idLink(p.model) : esc(p.model_ref || '')], ['default time dimension', esc(p.agg_time_dimension || '')]]);
    function grid(title, rows, cols) {
      if (!rows || !rows.length) return '';
      var t = '<h3>' + title + '</h3><table class="grid"><tr>' + cols.map(function (c) { return '<th>' + c + '</th>'; }).join('') + '</tr>';
      rows.forEach(function (r) {
        t += '<tr>' + cols.map(function (c, i) {
          var v = r[c] || '';
          return i === 0 ? '<td><code>' + esc(v) + '</code></td>' : '<td>' + esc(v) + '</td>';
        }).join('') + '</tr>';
      });
      return t + '</table>';
    }
    h += grid('Entities', p.entities, ['name', 'type', 'expr']);
    h += grid('Dimensions', p.dimensions, ['name', 'type', 'time_granularity', 'expr', 'description']);
    h += grid('Measures', p.measures, ['name', 'agg', 'expr', 'description']);
    var metrics = n.children.map(function (i) { return NODES[i]; }).filter(function (m) { return m.type === 'metric'; });
    h += '<h3>Metrics</h3>' + nodeList(metrics.map(function (m) { return m.i; }));
    return section('Semantic model', h, 'definition');
  }

  function renderMetrics() {
    var ms = NODES.filter(function (n) { return n.type === 'metric' || n.type === 'semantic_model'; });
    var main = $('main');
    if (!ms.length) {
      main.innerHTML = '<div class="page-head"><h1>Metrics</h1></div><p class="muted">This project defines no semantic models or metrics.</p>';
      main.setAttribute('data-rendered', 'metrics');
      return;
    }
    main.innerHTML = '<p class="muted">Loading metrics…</p>';
    var h0 = location.hash;
    withPages(ms, function (pages) {
      if (location.hash !== h0) return;
      var h = '<div class="page-head"><h1>Metrics</h1><div class="sub">the semantic layer: metrics, their definitions and the semantic models behind them</div></div>';
      var rows = ms.filter(function (n) { return n.type === 'metric'; }).map(function (n) {
        var p = pages[n.id] || {};
        return '<tr><td>' + link(n) + '</td><td>' + esc(p.type || '') + '</td><td>' + esc(p.label || '') + '</td><td>' +
          esc(n.desc) + '</td><td>' + (p.semantic_models || []).map(idLink).join(' ') + '</td></tr>';
      }).join('');
      h += section('Metrics', rows ? '<table class="grid"><tr><th>Metric</th><th>Type</th><th>Label</th><th>Description</th><th>Semantic models</th></tr>' + rows + '</table>' : '<p class="muted">None.</p>');
      var sms = ms.filter(function (n) { return n.type === 'semantic_model'; }).map(function (n) {
        var p = pages[n.id] || {};
        return '<tr><td>' + link(n) + '</td><td>' + (p.model ? idLink(p.model) : '') + '</td><td>' + (p.measures || []).length +
          '</td><td>' + (p.dimensions || []).length + '</td><td>' + esc(n.desc) + '</td></tr>';
      }).join('');
      h += section('Semantic models', sms ? '<table class="grid"><tr><th>Semantic model</th><th>Model</th><th>Measures</th><th>Dimensions</th><th>Description</th></tr>' + sms + '</table>' : '<p class="muted">None.</p>');
      main.innerHTML = h;
      main.setAttribute('data-rendered', 'metrics');
    });
  }

  // ---------- lineage ----------
  var BIG = 600; // above this many nodes, draw only a focused neighbourhood

  function renderLineagePage(focusId, q) {
    var main = $('main');
    var u = q.u != null ? +q.u : 2, d = q.d != null ? +q.d : 2;
    var focus = focusId ? BY_ID[focusId] : null;
    var h = '<div class="page-head"><h1>Lineage</h1><div class="sub">drag to pan, wheel to zoom, click a node to focus it, double-click to open it</div></div>';
    h += '<form class="lineage-controls" id="lineage-form"><input name="sel" placeholder="2+fct_orders+1" value="' +
      esc(focus ? (u ? u + '+' : '') + focus.name + (d ? '+' + d : '') : '') + '" title="[n+]name[+m]: a node with n levels upstream and m downstream"> ' +
      depthControls(u, d) + ' <button type="submit">Focus</button> <button type="button" data-act="fit">Fit</button>' +
      (focus ? ' <a href="' + href(focus) + '">Open ' + esc(focus.name) + ' →</a>' : '') + ' <span id="graph-info" class="muted"></span></form>';
    h += '<div class="graph big" id="graph"></div>';
    main.innerHTML = h;
    var g = new Graph($('graph'), {
      onClick: function (m) { location.hash = '#/lineage/' + encodeURIComponent(m.id) + '?u=' + form.u.value + '&d=' + form.d.value; },
      onDblClick: function (m) { location.hash = href(m); }
    });
    var form = $('lineage-form');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var s = form.sel.value.trim();
      var m = s.match(/^(?:(\d*)\+)?([^+]+?)(?:\+(\d*))?$/);
      if (!m) return;
      var name = m[2].trim(), found = BY_ID[name] || null;
      if (!found) {
        for (var i = 0; i < NODES.length; i++) if (NODES[i].name === name) { found = NODES[i]; break; }
      }
      if (!found) { $('graph-info').textContent = 'no node named ' + name; return; }
      var uu = m[1] !== undefined ? (m[1] === '' ? 99 : +m[1]) : +form.u.value;
      var dd = m[3] !== undefined ? (m[3] === '' ? 99 : +m[3]) : +form.d.value;
      location.hash = '#/lineage/' + encodeURIComponent(found.id) + '?u=' + uu + '&d=' + dd;
    });
    form.addEventListener('change', function (e) {
      if (e.target.name === 'u' || e.target.name === 'd') {
        if (focus) location.hash = '#/lineage/' + encodeURIComponent(focus.id) + '?u=' + form.u.value + '&d=' + form.d.value;
      }
    });
    form.querySelector('[data-act=fit]').addEventListener('click', function () { g.fit(); });
    var info;
    if (focus) info = g.show(focus.i, u, d);
    else if (NODES.length <= BIG) info = g.showAll();
    else {
      $('graph').innerHTML = '<p class="note">This project has ' + NODES.length.toLocaleString('en-US') +
        ' nodes: type a node above (e.g. <code>2+' + esc(NODES[0].name) + '+2</code>) or open a node and follow its lineage link to see its neighbourhood.</p>';
      return;
    }
    $('graph-info').textContent = info.count + ' nodes' + (info.capped ? ' (capped: lower the depth to see all)' : '');
  }

  var SVGNS = 'http://www.w3.org/2000/svg';
  var NODE_W = 190, NODE_H = 28, COL_W = 250, ROW_H = 40, CAP = 1500;

  function Graph(el, opts) {
    this.el = el;
    this.opts = opts || {};
    this.t = { x: 0, y: 0, k: 1 };
  }

  Graph.prototype.showAll = function () {
    var set = {};
    NODES.forEach(function (n) { set[n.i] = true; });
    return this.draw(set, null, false);
  };

  // Collects the focus node plus `up` levels of parents and `down` levels of children.
  Graph.prototype.show = function (i, up, down) {
    var set = {}, capped = false, count = 1;
    set[i] = true;
    function walk(key, depth) {
      var frontier = [i];
      for (var lvl = 0; lvl < depth && frontier.length; lvl++) {
        var next = [];
        for (var f = 0; f < frontier.length; f++) {
          var nb = NODES[frontier[f]][key];
          for (var j = 0; j < nb.length; j++) {
            if (set[nb[j]]) continue;
            if (count >= CAP) { capped = true; return; }
            set[nb[j]] = true; count++;
            next.push(nb[j]);
          }
        }
        frontier = next;
      }
    }
    walk('parents', up);
    walk('children', down);
    return this.draw(set, i, capped);
  };

  Graph.prototype.draw = function (set, focus, capped) {
    var ids = Object.keys(set).map(Number);
    // Layers: longest path from the sources of the drawn subgraph (Kahn order).
    var indeg = {}, layer = {};
    ids.forEach(function (i) {
      indeg[i] = NODES[i].parents.filter(function (p) { return set[p]; }).length;
      layer[i] = 0;
    });
    var queue = ids.filter(function (i) { return indeg[i] === 0; }), order = [];
    while (queue.length) {
      var v = queue.pop();
      order.push(v);
      NODES[v].children.forEach(function (c) {
        if (!set[c]) return;
        layer[c] = Math.max(layer[c], layer[v] + 1);
        if (--indeg[c] === 0) queue.push(c);
      });
    }
    var layers = [];
    ids.forEach(function (i) { (layers[layer[i]] = layers[layer[i]] || []).push(i); });
    layers = layers.filter(Boolean);
    layers.forEach(function (l) { l.sort(function (a, b) { return NODES[a].lname < NODES[b].lname ? -1 : 1; }); });
    // Barycentre sweeps to reduce crossings.
    var pos = {};
    function index() { layers.forEach(function (l) { l.forEach(function (v, r) { pos[v] = r - (l.length - 1) / 2; }); }); }
    index();
    for (var sweep = 0; sweep < 4; sweep++) {
      var down = sweep % 2 === 0;
      for (var li = down ? 1 : layers.length - 2; down ? li < layers.length : li >= 0; li += down ? 1 : -1) {
        var bary = {};
        layers[li].forEach(function (v) {
          var nb = (down ? NODES[v].parents : NODES[v].children).filter(function (x) { return set[x]; });
          bary[v] = nb.length ? nb.reduce(function (s, x) { return s + pos[x]; }, 0) / nb.length : pos[v];
        });
        layers[li].sort(function (a, b) { return bary[a] - bary[b]; });
        layers[li].forEach(function (v, r) { pos[v] = r - (layers[li].length - 1) / 2; });
      }
    }
    var xy = {};
    layers.forEach(function (l, li) { l.forEach(function (v) { xy[v] = [li * COL_W, pos[v] * ROW_H]; }); });

    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('class', 'lineage');
    var vp = document.createElementNS(SVGNS, 'g');
    svg.appendChild(vp);
    var edges = '', nodes = '';
    ids.forEach(function (c) {
      NODES[c].parents.forEach(function (p) {
        if (!set[p]) return;
        var x1 = xy[p][0] + NODE_W, y1 = xy[p][1] + NODE_H / 2, x2 = xy[c][0], y2 = xy[c][1] + NODE_H / 2, mx = (x1 + x2) / 2;
        edges += '<path class="edge" data-from="' + p + '" data-to="' + c + '" d="M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 + '"/>';
      });
    });
    ids.forEach(function (i) {
      var n = NODES[i], label = n.name.length > 25 ? n.name.slice(0, 24) + '…' : n.name;
      nodes += '<g class="node t-' + n.type + (i === focus ? ' focus' : '') + '" data-i="' + i + '" transform="translate(' + xy[i][0] + ',' + xy[i][1] + ')">' +
        '<title>' + esc(n.id) + '</title><rect width="' + NODE_W + '" height="' + NODE_H + '" rx="6"/>' +
        '<text x="10" y="18">' + esc(label) + '</text></g>';
    });
    vp.innerHTML = '<g class="edges">' + edges + '</g><g class="nodes">' + nodes + '</g>';
    this.el.innerHTML = '';
    this.el.appendChild(svg);
    this.svg = svg;
    this.vp = vp;
    this.bounds = {
      x0: 0, x1: (layers.length - 1) * COL_W + NODE_W,
      y0: Math.min.apply(null, ids.map(function (i) { return xy[i][1]; })),
      y1: Math.max.apply(null, ids.map(function (i) { return xy[i][1]; })) + NODE_H
    };
    this.bind();
    this.fit();
    this.el.setAttribute('data-nodes', ids.length);
    return { count: ids.length, capped: capped };
  };

  Graph.prototype.apply = function () {
    this.vp.setAttribute('transform', 'translate(' + this.t.x + ',' + this.t.y + ') scale(' + this.t.k + ')');
  };

  Graph.prototype.fit = function () {
    if (!this.svg) return;
    var w = this.el.clientWidth || 800, h = this.el.clientHeight || 400, b = this.bounds, pad = 24;
    var k = Math.min((w - 2 * pad) / (b.x1 - b.x0 || 1), (h - 2 * pad) / (b.y1 - b.y0 || 1), 1.2);
    k = Math.max(k, 0.05);
    this.t = { k: k, x: (w - (b.x1 - b.x0) * k) / 2 - b.x0 * k, y: (h - (b.y1 - b.y0) * k) / 2 - b.y0 * k };
    this.apply();
  };

  Graph.prototype.zoom = function (factor, cx, cy) {
    var k = Math.max(0.05, Math.min(4, this.t.k * factor));
    var f = k / this.t.k;
    this.t.x = cx - (cx - this.t.x) * f;
    this.t.y = cy - (cy - this.t.y) * f;
    this.t.k = k;
    this.apply();
  };

  Graph.prototype.bind = function () {
    var self = this, svg = this.svg, drag = null, moved = false;
    svg.addEventListener('wheel', function (e) {
      e.preventDefault();
      var r = svg.getBoundingClientRect();
      self.zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    svg.addEventListener('mousedown', function (e) { drag = [e.clientX, e.clientY, self.t.x, self.t.y]; moved = false; });
    svg.addEventListener('mousemove', function (e) {
      if (!drag) return;
      if (Math.abs(e.clientX - drag[0]) + Math.abs(e.clientY - drag[1]) > 3) moved = true;
      self.t.x = drag[2] + e.clientX - drag[0];
      self.t.y = drag[3] + e.clientY - drag[1];
      self.apply();
    });
    svg.addEventListener('mouseup', function () { drag = null; });
    svg.addEventListener('mouseleave', function () { drag = null; });
    function nodeOf(e) {
      var g = e.target.closest && e.target.closest('g.node');
      return g ? NODES[+g.getAttribute('data-i')] : null;
    }
    var clickTimer = null;
    svg.addEventListener('click', function (e) {
      var n = nodeOf(e);
      if (!n || moved) return;
      if (self.opts.onDblClick) {
        clearTimeout(clickTimer);
        clickTimer = setTimeout(function () { self.opts.onClick(n); }, 250);
      } else if (self.opts.onClick) self.opts.onClick(n);
    });
    svg.addEventListener('dblclick', function (e) {
      var n = nodeOf(e);
      if (n && self.opts.onDblClick) { clearTimeout(clickTimer); self.opts.onDblClick(n); }
    });
    svg.addEventListener('mouseover', function (e) {
      var g = e.target.closest && e.target.closest('g.node');
      var paths = svg.querySelectorAll('path.edge');
      var i = g ? g.getAttribute('data-i') : null;
      for (var p = 0; p < paths.length; p++) {
        var on = i !== null && (paths[p].getAttribute('data-from') === i || paths[p].getAttribute('data-to') === i);
        paths[p].classList.toggle('hot', on);
      }
    });
  };

  api.highlight = highlight;
})();
