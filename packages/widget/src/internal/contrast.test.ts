import { expect } from '@open-wc/testing';
import { contrastRatio, readableTextOn } from './contrast.js';

describe('readableTextOn', () => {
  it('computes the WCAG contrast ratio: 21 for black on white, 1 for a colour on itself', () => {
    expect(contrastRatio('#000000', '#ffffff')).to.be.closeTo(21, 0.001);
    expect(contrastRatio('#ffffff', '#000000')).to.be.closeTo(21, 0.001);
    expect(contrastRatio('#0f766e', '#0f766e')).to.equal(1);
  });

  it('puts white on dark workspace colours and near-black on light ones, each at least 4.5:1', () => {
    for (const dark of ['#0f766e', '#4f46e5', '#7c2d12', '#000000']) {
      expect(readableTextOn(dark), dark).to.equal('#ffffff');
      expect(contrastRatio(dark, readableTextOn(dark)), dark).to.be.at.least(4.5);
    }
    for (const light of ['#fde68a', '#a5b4fc', '#22d3ee', '#ffffff']) {
      expect(readableTextOn(light), light).to.equal('#111827');
      expect(contrastRatio(light, readableTextOn(light)), light).to.be.at.least(4.5);
    }
  });

  it('always picks the better of the two, across the whole grey ramp', () => {
    for (let level = 0; level <= 255; level += 5) {
      const grey = `#${level.toString(16).padStart(2, '0').repeat(3)}`;
      const chosen = readableTextOn(grey);
      const other = chosen === '#ffffff' ? '#111827' : '#ffffff';
      expect(contrastRatio(grey, chosen), grey).to.be.at.least(contrastRatio(grey, other));
    }
  });

  it('falls back to near-black for anything but #rrggbb', () => {
    expect(readableTextOn('teal')).to.equal('#111827');
  });
});
