// text.vert — glyph and background quads of one TextItem, laid out in the text's own plane.
// Inputs:   a_position (vec2, text frame, metres; the quad faces +Z), a_uv (vec2, atlas
//           texture coordinates), a_layer (float: 0 background, 1 glyph).
// Views:    VIEW (int expression), the view (eye) being drawn, as in mesh.vert.
// Uniform blocks (std140, filled by render/renderer.py):
//   View (binding 0, see mesh.vert): u_clip_from_world[VIEW].
//   Texts (binding 2): u_texts[MAX_TEXTS] of world_from_text (mat4, the text's placement
//           times its height), text_color, background_color (vec4, linear RGB + alpha)
//           — once per draw list.
// Uniforms: u_text (int, this text's index in u_texts).
// Outputs:  v_uv (vec2), v_color (flat vec4: the glyph's or the background's colour).
#version 410 core

#define MAX_TEXTS 128

layout(location = 0) in vec2 a_position;
layout(location = 1) in vec2 a_uv;
layout(location = 2) in float a_layer;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

struct Text {
    mat4 world_from_text;
    vec4 text_color;
    vec4 background_color;
};

layout(std140) uniform Texts {
    Text u_texts[MAX_TEXTS];
};

uniform int u_text;

out vec2 v_uv;
flat out vec4 v_color;

void main() {
    Text text = u_texts[u_text];
    v_uv = a_uv;
    v_color = a_layer < 0.5 ? text.background_color : text.text_color;
    gl_Position = u_clip_from_world[VIEW] * (text.world_from_text * vec4(a_position, 0.0, 1.0));
#ifdef LAYERED
    gl_Layer = VIEW;
#endif
}
