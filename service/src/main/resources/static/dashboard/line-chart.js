// A line chart in SVG, drawn here rather than by a chart library: the dashboard fetches nothing from outside the
// service, and one line over a step axis is all it needs.

import { number } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 420;
const H = 200;
const M = { left: 52, right: 10, top: 10, bottom: 22 };
// More points than pixels only slow the drawing down.
const MAX_DRAWN = 1500;

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export class LineChart {
  /**
   * @param name short id, for the element's data-chart attribute
   * @param title what the caption says
   * @param empty what the chart says while it has no points
   * @param format how y values read
   */
  constructor(name, title, { empty = 'no data yet', format = number } = {}) {
    this.points = [];
    this.empty = empty;
    this.format = format;
    this.pending = false;
    this.svg = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, 'data-points': 0 });
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.dataset.chart = name;
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.element.append(caption, this.svg);
    this.draw();
  }

  /** Adds a point; a point at an x the chart already has replaces it. Null y values are skipped. */
  add(x, y) {
    if (y === null || y === undefined || !Number.isFinite(y)) {
      return;
    }
    const last = this.points[this.points.length - 1];
    if (!last || x > last.x) {
      this.points.push({ x, y });
    } else {
      const i = this.points.findIndex((p) => p.x >= x);
      if (this.points[i].x === x) {
        this.points[i] = { x, y };
      } else {
        this.points.splice(i, 0, { x, y });
      }
    }
    this.schedule();
  }

  schedule() {
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }
  }

  draw() {
    const s = this.svg;
    s.replaceChildren();
    s.setAttribute('data-points', this.points.length);
    const plot = { x0: M.left, x1: W - M.right, y0: H - M.bottom, y1: M.top };
    s.append(svg('rect', { x: plot.x0, y: plot.y1, width: plot.x1 - plot.x0, height: plot.y0 - plot.y1,
      class: 'frame' }));
    if (this.points.length === 0) {
      s.append(svg('text', { x: (plot.x0 + plot.x1) / 2, y: (plot.y0 + plot.y1) / 2, 'text-anchor': 'middle',
        class: 'empty' }, this.empty));
      return;
    }
    const xs = this.points.map((p) => p.x);
    const ys = this.points.map((p) => p.y);
    let [xMin, xMax] = [xs[0], xs[xs.length - 1]];
    let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
    if (xMax === xMin) { xMin -= 1; xMax += 1; }
    if (yMax === yMin) { const d = Math.abs(yMin) * 0.05 || 1; yMin -= d; yMax += d; }
    const px = (x) => plot.x0 + ((x - xMin) / (xMax - xMin)) * (plot.x1 - plot.x0);
    const py = (y) => plot.y0 - ((y - yMin) / (yMax - yMin)) * (plot.y0 - plot.y1);

    for (const y of [yMin, (yMin + yMax) / 2, yMax]) {
      s.append(svg('line', { x1: plot.x0, x2: plot.x1, y1: py(y), y2: py(y), class: 'grid' }));
      s.append(svg('text', { x: plot.x0 - 4, y: py(y) + 4, 'text-anchor': 'end', class: 'tick' }, this.format(y)));
    }
    s.append(svg('text', { x: plot.x0, y: H - 6, 'text-anchor': 'start', class: 'tick' }, number(xs[0])));
    s.append(svg('text', { x: plot.x1, y: H - 6, 'text-anchor': 'end', class: 'tick' }, number(xs[xs.length - 1])));
    s.append(svg('text', { x: (plot.x0 + plot.x1) / 2, y: H - 6, 'text-anchor': 'middle', class: 'tick' }, 'step'));

    const stride = Math.ceil(this.points.length / MAX_DRAWN);
    const drawn = this.points.filter((_, i) => i % stride === 0 || i === this.points.length - 1);
    const d = drawn.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    s.append(svg('path', { d, class: 'line' }));
    const lastPoint = drawn[drawn.length - 1];
    s.append(svg('circle', { cx: px(lastPoint.x), cy: py(lastPoint.y), r: 2.5, class: 'dot' }));
  }
}
