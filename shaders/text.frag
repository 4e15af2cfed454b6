// text.frag — text from a single-channel glyph atlas (coverage in the red channel; a solid
// block of full coverage serves the background quads).
// Inputs:   v_uv (vec2, atlas texture coordinates), v_color (flat vec4, linear RGB + alpha).
// Uniform blocks: View (binding 0, see mesh.vert): u_encode_srgb.
// Uniforms: u_atlas (sampler2D, R8 coverage; set once).
// Output:   o_color (vec4, straight alpha for SRC_ALPHA, ONE_MINUS_SRC_ALPHA blending).
#version 410 core

in vec2 v_uv;
flat in vec4 v_color;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

uniform sampler2D u_atlas;

out vec4 o_color;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    float coverage = texture(u_atlas, v_uv).r;
    float alpha = v_color.a * coverage;
    if (alpha <= 0.0) discard;
    o_color = vec4(u_encode_srgb != 0 ? linear_to_srgb(v_color.rgb) : v_color.rgb, alpha);
}
