// text.frag — text from a single-channel glyph atlas (coverage in the red channel; a solid
// block of full coverage serves the background quads).
// Inputs:   v_uv (vec2, atlas texture coordinates), v_layer (float: 0 background, 1 glyph).
// Uniforms: u_atlas (sampler2D, R8 coverage), u_text_color, u_background_color (vec4, linear
//           RGB + alpha), u_encode_srgb (bool: true when the target does not encode sRGB).
// Output:   o_color (vec4, straight alpha for SRC_ALPHA, ONE_MINUS_SRC_ALPHA blending).
#version 410 core

in vec2 v_uv;
in float v_layer;

uniform sampler2D u_atlas;
uniform vec4 u_text_color;
uniform vec4 u_background_color;
uniform bool u_encode_srgb;

out vec4 o_color;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    vec4 color = v_layer < 0.5 ? u_background_color : u_text_color;
    float coverage = texture(u_atlas, v_uv).r;
    float alpha = color.a * coverage;
    if (alpha <= 0.0) discard;
    o_color = vec4(u_encode_srgb ? linear_to_srgb(color.rgb) : color.rgb, alpha);
}
