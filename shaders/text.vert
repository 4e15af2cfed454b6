// text.vert — glyph and background quads of one TextItem, laid out in the text's own plane.
// Inputs:   a_position (vec2, text frame, metres; the quad faces +Z), a_uv (vec2, atlas
//           texture coordinates), a_layer (float: 0 background, 1 glyph).
// Uniforms: u_clip_from_text (mat4, projection * view * world_from_text).
// Outputs:  v_uv (vec2), v_layer (float).
#version 410 core

layout(location = 0) in vec2 a_position;
layout(location = 1) in vec2 a_uv;
layout(location = 2) in float a_layer;

uniform mat4 u_clip_from_text;

out vec2 v_uv;
out float v_layer;

void main() {
    v_uv = a_uv;
    v_layer = a_layer;
    gl_Position = u_clip_from_text * vec4(a_position, 0.0, 1.0);
}
