// The route map: one agent's route for one date ("route" view) or every agent of that
// distributor and date ("territory" view), drawn with Leaflet over an optional basemap.
(function () {
  'use strict';
  function byId(id) { return document.getElementById(id); }
  var CONFIG = JSON.parse(byId('config').textContent);
  var STYLE = CONFIG.style;
  var routes = JSON.parse(byId('routes').textContent);
  var body = document.body;
  var agentSel = byId('agent'), dateSel = byId('date'), viewSel = byId('view');
  var R = 6;          // stop marker radius, px
  var GAP = 3;        // label distance from its marker's edge, px
  var PAD = 1;        // minimum free space around a label, px

  // No zoom animation for people who ask their system for less motion.
  var still = !!(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
  var map = L.map('map', {
    maxZoom: 19, minZoom: 2, zoomSnap: 0.25, attributionControl: !!CONFIG.tiles,
    zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still
  });
  if (CONFIG.tiles) {
    map.attributionControl.setPrefix(false);
    // The attribution arrives HTML-escaped: Leaflet writes it with innerHTML.
    L.tileLayer(CONFIG.tiles.url, { attribution: CONFIG.tiles.attribution, maxZoom: 19 }).addTo(map);
    L.DomUtil.addClass(byId('map'), 'basemap');
  }
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  var drawn = L.layerGroup().addTo(map);
  var state = { route: null, view: 'route', stops: null, all: null, labels: [], markers: {}, lit: null };

  function control(position, className, fill) {
    var C = L.Control.extend({
      onAdd: function () {
        var box = L.DomUtil.create('div', className);
        fill(box);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new C({ position: position }).addTo(map);
  }
  function button(box, id, text, onClick) {
    var b = L.DomUtil.create('button', '', box);
    b.type = 'button';
    b.id = id;
    b.textContent = text;
    b.addEventListener('click', onClick);
  }
  control('topleft', 'leaflet-bar map-buttons', function (box) {
    button(box, 'fit-stops', 'Fit stops', function () { fit(false); });
    button(box, 'show-depot', 'Show depot', function () { fit(true); });
  });
  var legendBox;
  control('topright', 'legend', function (box) { box.id = 'legend'; legendBox = box; });

  function el(tag, className, text, parent) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmtKm(v) { return v.toFixed(2) + ' km'; }
  function ll(s) { return [s.lat, s.lon]; }
  function markFill(kind, color) { return kind === 'added' ? STYLE.added : kind === 'customer' ? color : STYLE.other; }

  // What a planner needs about a stop; built as text nodes, never as HTML.
  function info(route, s, territory) {
    var d = el('div', 'stop-info');
    var leg = s.leg_km === null ? '' : fmtKm(s.leg_km) + ' from ' + (s.leg_from === null ? 'the depot' : 'stop ' + s.leg_from);
    var rows = [['StopNo', s.stop_no === null ? '' : String(s.stop_no)], ['CustNo', s.cust_no], ['Name', s.name || ''],
      ['Custype', s.custype || ''], ['Added', s.added ? 'yes, by this run' : 'no'], ['Leg', leg]];
    if (territory) { rows.unshift(['Agent', route.agent_id]); }
    rows.forEach(function (r) {
      var p = el('div', '', null, d);
      el('b', '', r[0] + ': ', p);
      p.appendChild(document.createTextNode(r[1]));
    });
    return d;
  }

  function stopMarker(route, s, territory) {
    var fill = territory ? route.color : markFill(s.mark, route.color);
    var m = L.circleMarker(ll(s), {
      radius: R, color: s.added ? STYLE.addedEdge : STYLE.white, weight: s.added ? 2 : 1.5,
      fillColor: fill, fillOpacity: 1, className: 'stop stop-' + s.mark
    });
    m.rest = { radius: R, color: m.options.color, weight: m.options.weight };
    m.bindTooltip(info(route, s, territory), { direction: 'top', offset: [0, -R] });
    m.bindPopup(info(route, s, territory));
    m.on('popupopen', function () { m.closeTooltip(); });
    m.on('add', function () {
      var e = m.getElement();
      if (e) { e.setAttribute('data-cust', s.cust_no); e.setAttribute('data-agent', route.agent_id); }
    });
    if (route === state.route) { m.on('click', function () { highlight(s.cust_no, false); }); }
    return m;
  }

  function depotMarker(route) {
    var m = L.marker(route.depot, {
      icon: L.divIcon({ className: 'depot-icon', iconSize: [14, 14] }), keyboard: false, zIndexOffset: -100
    });
    m.bindTooltip('Depot of ' + route.distributor_id, { direction: 'top', offset: [0, -8] });
    return m;
  }

  function labelMarker(route, s) {
    var m = L.marker(ll(s), {
      icon: L.divIcon({ className: 'stop-label' + (s.added ? ' added' : ''), html: String(s.stop_no), iconSize: null }),
      interactive: false, keyboard: false, zIndexOffset: 500
    });
    return { marker: m, latlng: m.getLatLng(), stop: s, el: null, w: 0, h: 0, shown: false };
  }

  // Labels in StopNo order, each at the first of eight spots around its marker that is clear of
  // every label placed so far and of every other marker; hidden when none is (zooming in frees
  // room). Positions are in layer pixels, so only a zoom change moves them relative to each other.
  function layoutLabels() {
    var labels = state.labels;
    var pts = labels.map(function (l) { return map.latLngToLayerPoint(l.latlng); });
    var placed = [];
    labels.forEach(function (l, i) {
      var p = pts[i], g = R + GAP, d = (R + GAP) * 0.75, w = l.w, h = l.h;
      var spots = [[g, -h / 2], [-g - w, -h / 2], [-w / 2, -g - h], [-w / 2, g],
        [d, -d - h], [-d - w, -d - h], [d, d], [-d - w, d]];
      var pick = null;
      for (var k = 0; k < spots.length && !pick; k++) {
        var b = { x0: p.x + spots[k][0], y0: p.y + spots[k][1] };
        b.x1 = b.x0 + w;
        b.y1 = b.y0 + h;
        if (!placed.some(function (q) { return overlaps(b, q); }) && !coversMarker(b, pts, i)) { pick = spots[k]; placed.push(b); }
      }
      l.shown = !!pick;
      l.el.style.display = pick ? '' : 'none';
      if (pick) { l.el.style.marginLeft = pick[0] + 'px'; l.el.style.marginTop = pick[1] + 'px'; }
    });
    publish();
  }
  function overlaps(a, b) {
    return a.x0 < b.x1 + PAD && b.x0 < a.x1 + PAD && a.y0 < b.y1 + PAD && b.y0 < a.y1 + PAD;
  }
  function coversMarker(b, pts, self) {
    return pts.some(function (p, j) {
      if (j === self) { return false; }
      var dx = Math.max(b.x0 - p.x, 0, p.x - b.x1), dy = Math.max(b.y0 - p.y, 0, p.y - b.y1);
      return dx * dx + dy * dy < R * R;
    });
  }

  // Test hooks and status for headless browsers: the view, the zoom, and the page boxes of the
  // labels visible inside the map.
  function publish() {
    var frame = byId('map').getBoundingClientRect();
    var boxes = [];
    state.labels.forEach(function (l) {
      if (!l.shown) { return; }
      var b = l.el.getBoundingClientRect();
      if (b.right <= frame.left || b.left >= frame.right || b.bottom <= frame.top || b.top >= frame.bottom) { return; }
      boxes.push([b.left, b.top, b.right, b.bottom].map(function (v) { return Math.round(v * 10) / 10; }));
    });
    body.dataset.labels = JSON.stringify(boxes);
    body.dataset.zoom = String(map.getZoom());
  }

  function territoryOf(route) {
    return routes.filter(function (r) { return r.distributor_id === route.distributor_id && r.route_date === route.route_date; });
  }

  function bounds(list) {
    var stops = L.latLngBounds([]), all = L.latLngBounds([]);
    list.forEach(function (r) {
      r.stops.forEach(function (s) { if (s.drawn) { stops.extend(ll(s)); all.extend(ll(s)); } });
      if (r.depot) { all.extend(r.depot); }
    });
    return { stops: stops, all: all };
  }

  // Fits the stops (the depot may be off the edge, its leg drawn towards it), or stops and depots.
  function fit(withDepot) {
    var b = withDepot || !state.stops.isValid() ? state.all : state.stops;
    if (b.isValid()) {
      map.fitBounds(b, { padding: [28, 28], maxZoom: 17, animate: false });
    } else {
      map.setView([0, 0], 2, { animate: false });
    }
  }

  function draw() {
    var route = state.route, territory = state.view === 'territory';
    var list = territory ? territoryOf(route) : [route];
    drawn.clearLayers();
    state.labels = [];
    state.markers = {};
    state.lit = null;
    var b = bounds(list);
    state.stops = b.stops;
    state.all = b.all;
    fit(false);
    // Lines under markers; the selected agent's markers on top.
    list.forEach(function (r) {
      var path = (r.depot ? [r.depot] : []).concat(r.stops.filter(function (s) { return s.drawn; }).map(ll));
      if (path.length >= 2) {
        L.polyline(path, { color: r.color, weight: 4, opacity: 0.85, className: 'route-line', interactive: false }).addTo(drawn);
      }
    });
    var depots = {};
    list.forEach(function (r) {
      var key = r.depot ? r.depot.join(',') : null;
      if (key && !depots[key]) { depots[key] = true; depotMarker(r).addTo(drawn); }
    });
    list.filter(function (r) { return r !== route; }).concat([route]).forEach(function (r) {
      r.stops.forEach(function (s) {
        if (!s.drawn) { return; }
        var m = stopMarker(r, s, territory).addTo(drawn);
        if (r === route) { state.markers[s.cust_no] = m; }
        if (!territory && s.stop_no !== null) { state.labels.push(labelMarker(r, s)); }
      });
    });
    state.labels.forEach(function (l) {
      l.marker.addTo(drawn);
      l.el = l.marker.getElement();
      var box = l.el.getBoundingClientRect();
      l.w = box.width;
      l.h = box.height;
    });
    layoutLabels();
    legend(route, list, territory);
  }

  function swatch(parent, className, color) {
    var s = el('span', 'sw ' + className, null, parent);
    if (color) { s.style.background = color; }
    return s;
  }
  function legend(route, list, territory) {
    legendBox.textContent = '';
    if (territory) {
      el('div', 'title', route.distributor_id + ' \u00b7 ' + route.route_date + ' \u00b7 ' + list.length + ' agent' + (list.length === 1 ? '' : 's'), legendBox);
      list.forEach(function (r) {
        var row = el('div', 'row agent' + (r === route ? ' current' : ''), null, legendBox);
        row.setAttribute('data-agent', r.agent_id);
        swatch(row, 'line', r.color);
        el('span', '', r.agent_id + ' (' + r.stops.length + ' stops, ' + r.km.toFixed(1) + ' km)', row);
        row.addEventListener('click', function () { select(routes.indexOf(r)); });
      });
    } else {
      el('div', 'title', route.title, legendBox);
      [['customer', route.color], ['added prospect', STYLE.added], ['other', STYLE.other]].forEach(function (row) {
        var d = el('div', 'row', null, legendBox);
        swatch(d, '', row[1]);
        el('span', '', row[0], d);
      });
    }
    var d = el('div', 'row', null, legendBox);
    swatch(d, 'depot', STYLE.depot);
    el('span', '', 'depot', d);
  }

  // Marks a stop's marker and table row; pans to the marker when asked (a table click).
  function highlight(cust, pan) {
    if (state.lit) {
      state.lit.setStyle(state.lit.rest);
      L.DomUtil.removeClass(state.lit.getElement(), 'highlighted');
      state.lit = null;
    }
    Array.prototype.forEach.call(document.querySelectorAll('#stops tbody tr'), function (tr) {
      var on = tr.getAttribute('data-cust') === cust;
      L.DomUtil[on ? 'addClass' : 'removeClass'](tr, 'selected');
      if (on && !pan && tr.scrollIntoView) { tr.scrollIntoView({ block: 'nearest' }); }
    });
    var m = state.markers[cust];
    body.dataset.highlight = cust;
    if (!m) { return; }
    m.setStyle({ radius: R * 1.8, color: STYLE.ink, weight: 3 });
    m.bringToFront();
    L.DomUtil.addClass(m.getElement(), 'highlighted');
    state.lit = m;
    if (pan) { map.panTo(m.getLatLng(), { animate: false }); }
  }

  function fmtCoord(v) { return typeof v === 'number' ? v.toFixed(6) : ''; }
  function table(route) {
    var tb = document.querySelector('#stops tbody');
    tb.textContent = '';
    route.stops.forEach(function (s) {
      var tr = el('tr', (s.drawn ? '' : 'unplaced') + (s.added ? ' added' : ''), null, tb);
      tr.setAttribute('data-cust', s.cust_no);
      [[s.stop_no === null ? '' : String(s.stop_no), 'num'], [s.cust_no, ''], [s.name || '', ''],
       [s.custype || '', ''], [s.added ? 'yes' : '', ''], [s.leg_km === null ? '' : s.leg_km.toFixed(2), 'num'],
       [fmtCoord(s.lat), 'num'], [fmtCoord(s.lon), 'num']]
        .forEach(function (c) { el('td', c[1], c[0], tr); });
      tr.addEventListener('click', function () { highlight(s.cust_no, true); });
    });
    byId('caption').textContent = 'Stops of ' + route.title + ' \u2014 click a row to find its stop on the map.';
  }

  function option(sel, value, label) {
    var o = el('option', '', label, sel);
    o.value = value;
  }
  var agents = [];
  routes.forEach(function (r) { if (agents.indexOf(r.agent_id) < 0) { agents.push(r.agent_id); } });
  agents.sort();
  agents.forEach(function (a) { option(agentSel, a, a); });

  function indicesOf(agent) {
    var idx = [];
    routes.forEach(function (r, i) { if (r.agent_id === agent) { idx.push(i); } });
    idx.sort(function (a, b) {
      var x = routes[a], y = routes[b];
      return x.route_date < y.route_date ? -1 : x.route_date > y.route_date ? 1 : a - b;
    });
    return idx;
  }
  function fillDates(agent, wanted) {
    dateSel.textContent = '';
    var idx = indicesOf(agent), dists = {};
    idx.forEach(function (i) { dists[routes[i].distributor_id] = 1; });
    var many = Object.keys(dists).length > 1, pick = null;
    idx.forEach(function (i) {
      var r = routes[i];
      option(dateSel, String(i), r.route_date + (many ? ' (' + r.distributor_id + ')' : ''));
      if (pick === null && r.route_date === wanted) { pick = String(i); }
    });
    if (pick !== null) { dateSel.value = pick; }
  }
  function show() {
    var r = routes[parseInt(dateSel.value, 10)];
    state.route = r;
    state.view = viewSel.value === 'territory' ? 'territory' : 'route';
    draw();
    table(r);
    var n = state.view === 'territory' ? territoryOf(r).length : 1;
    byId('count').textContent = routes.length + ' route' + (routes.length === 1 ? '' : 's') +
      (state.view === 'territory' ? ' \u00b7 ' + n + ' agent' + (n === 1 ? '' : 's') + ' shown' : '');
    body.dataset.agent = r.agent_id;
    body.dataset.date = r.route_date;
    body.dataset.distributor = r.distributor_id;
    body.dataset.view = state.view;
    body.dataset.agents = String(n);
    body.dataset.stops = String(r.stops.length);
    body.dataset.status = 'ready';
  }
  function select(i) {
    agentSel.value = routes[i].agent_id;
    fillDates(routes[i].agent_id, routes[i].route_date);
    show();
    setHash();
  }
  function parseHash() {
    var q = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf('='), k = i < 0 ? kv : kv.slice(0, i), v = i < 0 ? '' : kv.slice(i + 1);
      try { k = decodeURIComponent(k); v = decodeURIComponent(v.replace(/\+/g, ' ')); } catch (e) { /* keep raw */ }
      q[k] = v;
    });
    return q;
  }
  function setHash() {
    var r = routes[parseInt(dateSel.value, 10)];
    var h = '#agent=' + encodeURIComponent(r.agent_id) + '&date=' + encodeURIComponent(r.route_date) +
      (viewSel.value === 'territory' ? '&view=territory' : '');
    try { history.replaceState(null, '', h); } catch (e) { /* file: URLs may refuse; the view still updates */ }
  }
  function fromHash() {
    if (!routes.length) { return; }
    var q = parseHash();
    var agent = agents.indexOf(q.agent) >= 0 ? q.agent : agents[0];
    agentSel.value = agent;
    viewSel.value = q.view === 'territory' ? 'territory' : 'route';
    fillDates(agent, q.date);
    show();
  }
  agentSel.addEventListener('change', function () { fillDates(agentSel.value, null); show(); setHash(); });
  dateSel.addEventListener('change', function () { show(); setHash(); });
  viewSel.addEventListener('change', function () { show(); setHash(); });
  window.addEventListener('hashchange', fromHash);
  map.on('zoomend', function () { if (state.route) { layoutLabels(); } });

  if (routes.length) {
    fromHash();
  } else {
    map.setView([0, 0], 2);
    byId('caption').textContent = 'No routes.';
    body.dataset.agent = '';
    body.dataset.date = '';
    body.dataset.status = 'ready';
  }
  window.routeMap = map;
})();
