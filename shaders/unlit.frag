// unlit.frag — a flat colour, for markers and helpers that must not change with lighting.
// Inputs:   v_world_position, v_world_normal (unused; shared vertex stage mesh.vert),
//           v_color (vec4, linear RGB + alpha), v_view (flat int; unused).
// Uniform blocks: View (binding 0, see mesh.vert): u_encode_srgb.
// Uniforms: none of its own (the View block holds all it reads).
// Output:   o_color (vec4).
#version 410 core

in vec3 v_world_position;
in vec3 v_world_normal;
in vec4 v_color;
flat in int v_view;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

out vec4 o_color;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    o_color = vec4(u_encode_srgb != 0 ? linear_to_srgb(v_color.rgb) : v_color.rgb, v_color.a);
}
