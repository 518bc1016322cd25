"""Fixture for showCamOnImage(..., {style: 'finer-cam'}): the seed's visualize.py overlay, computed by OpenCV.

visualize.py (:25-34): cam = (cam - min) / (max - min + 1e-8); heat = applyColorMap(uint8(255 * cam), JET);
out = cv2.addWeighted(img, 0.5, heat, 0.5, 0). The seed works in BGR (cv2.imread); the same arithmetic per channel
gives the RGB result when image and colormap are both RGB, which is how it is stored here. Other image weights
exercise cv2.addWeighted(img, w, heat, 1 - w, 0) rounding.

Run: /usr/bin/python3 test/reference/make_overlay_fixture.py  (writes test/fixtures/images/overlay-finer.json)
"""
import json
import os

import cv2
import numpy as np

rng = np.random.default_rng(20261207)
cases = []
for (h, w, weight) in [(7, 9, 0.5), (16, 12, 0.5), (5, 5, 0.3), (11, 6, 0.75)]:
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    cam = (rng.standard_normal((h, w)) * 3 + 1).astype(np.float32)
    c = (cam - cam.min()) / (cam.max() - cam.min() + 1e-8)
    heat_bgr = cv2.applyColorMap(np.uint8(255 * c), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat_bgr, cv2.COLOR_BGR2RGB)
    out = cv2.addWeighted(img, weight, heat, 1 - weight, 0)
    cases.append({
        'width': w, 'height': h, 'imageWeight': weight,
        'image': img.reshape(-1).tolist(),
        'cam': [float(v) for v in cam.reshape(-1)],
        'expected': out.reshape(-1).tolist(),
    })

path = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'images', 'overlay-finer.json')
with open(path, 'w') as f:
    json.dump({'source': 'cv2 ' + cv2.__version__, 'cases': cases}, f, separators=(',', ':'))
print(path, len(cases), 'cases')
