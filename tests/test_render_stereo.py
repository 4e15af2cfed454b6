"""Both eyes in one pass draw the pictures that drawing each eye alone draws.

The scenes of ``tests/render_scenes.py`` (the demo's room, controllers, text and avatar;
and the mix of ghost, translucent, unlit and mirrored items, a text with a background and
a half fade), seen from the demo frame's two eyes, go once through ``Renderer.draw`` per
eye into a plain target (the two-pass picture) and once through ``Renderer.draw_stereo``
into a two-layer texture array (what an OpenXR swapchain with arraySize 2 holds), for
every way of drawing both eyes the driver offers: layered instancing (Mesa 22 llvmpipe
has it), GL_OVR_multiview (Mesa 25 llvmpipe in the XR sandbox has it; its run there is
tests/xr/test_stereo_xr.py) and two passes into the layers.

Tolerance: 1 level of 8 bits in any channel of any pixel. The same float32 maths runs per
vertex and fragment whichever way (the camera from the same View block, one per eye), so
pixels differ only by rounding; measured here: 0 levels for every pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from render_scenes import TARGETS, eye_cameras, render, render_stereo, scenes

from gmi_vr.core.errors import GraphicsUnavailable

# render.stereo imports PyOpenGL, whose platform the GL fixture picks first: its names are
# imported inside the tests.
STEREO_PATHS = ("multiview", "layered", "two_pass")
pytestmark = pytest.mark.gl

SCENES = scenes()
EYES = eye_cameras()
CASES = [(name, kind) for name in SCENES for kind in TARGETS]


def difference(picture: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(picture.astype(int) - expected.astype(int)).max(axis=2)


@pytest.fixture
def stereo_renderer(gl: Any, request: pytest.FixtureRequest) -> Any:
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.render.stereo import gl_extensions, offered_paths

    path = request.param
    if path not in offered_paths(gl_extensions()):
        pytest.skip(f"this OpenGL driver offers no {path} drawing (tests/xr/test_stereo_xr.py runs it)")
    renderer = Renderer(stereo=path)
    yield renderer
    renderer.release()


@pytest.mark.parametrize("stereo_renderer", STEREO_PATHS, indirect=True)
@pytest.mark.parametrize(("name", "kind"), CASES)
def test_both_eyes_in_one_pass_match_each_eye_drawn_alone(renderer: Any, stereo_renderer: Any, name: str,
                                                           kind: str) -> None:
    draw_list, _ = SCENES[name]
    left, right = render_stereo(stereo_renderer, draw_list, EYES, kind)
    alone = [render(renderer, draw_list, eye, kind) for eye in EYES]
    assert difference(left, alone[0]).max() <= 1
    assert difference(right, alone[1]).max() <= 1
    assert difference(alone[0], alone[1]).max() > 50  # two different eyes, not one picture twice


def test_the_driver_here_draws_both_eyes_in_one_pass(gl: Any) -> None:
    """Mesa's llvmpipe (22.3 on the host, 25.0 in the XR sandbox) offers one of the one-pass
    ways, so the path the app takes here is not the fallback."""
    from gmi_vr.render.stereo import choose_stereo_path, gl_extensions

    assert choose_stereo_path(gl_extensions()) in ("multiview", "layered")


def test_the_first_way_the_driver_offers_is_chosen(gl: Any) -> None:
    from gmi_vr.render.stereo import STEREO_PATHS as PREFERRED
    from gmi_vr.render.stereo import choose_stereo_path

    assert PREFERRED == STEREO_PATHS
    both = frozenset({"GL_OVR_multiview2", "GL_ARB_shader_viewport_layer_array"})
    assert choose_stereo_path(both) == "multiview"
    assert choose_stereo_path(frozenset({"GL_AMD_vertex_shader_layer"})) == "layered"
    assert choose_stereo_path(frozenset({"GL_OVR_multiview"})) == "two_pass"  # needs multiview2
    assert choose_stereo_path(frozenset()) == "two_pass"
    assert choose_stereo_path(both, "two_pass") == "two_pass"


def test_asking_for_a_way_the_driver_lacks_is_one_clear_sentence(gl: Any) -> None:
    from gmi_vr.render.stereo import choose_stereo_path

    with pytest.raises(GraphicsUnavailable, match="cannot draw both eyes the multiview way.*layered, two-pass"):
        choose_stereo_path(frozenset({"GL_ARB_shader_viewport_layer_array"}), "multiview")


@pytest.mark.parametrize("stereo_renderer", ["layered"], indirect=True)
def test_one_pass_makes_as_many_draw_calls_as_one_eye(stereo_renderer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of one pass: the mix scene costs the draw calls of one eye, not two."""
    import gmi_vr.render.mesh_buffer as mesh_buffer

    calls: list[int] = []
    for name in ("raw_draw_elements", "raw_draw_elements_instanced"):
        original = getattr(mesh_buffer, name)
        monkeypatch.setattr(mesh_buffer, name, lambda *a, _f=original: (calls.append(1), _f(*a))[1])
    draw_list, _ = SCENES["mixed"]
    render(stereo_renderer, draw_list, EYES[0], "srgb")
    one_eye = len(calls)
    calls.clear()
    render_stereo(stereo_renderer, draw_list, EYES, "srgb")
    assert one_eye > 10
    assert len(calls) == one_eye
