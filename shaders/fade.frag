// fade.frag — darkens the whole view towards black for calm transitions (DrawList.fade).
// The edges darken slightly ahead of the centre so the fade feels like closing eyes rather
// than a switch; at fade 1 everything is black.
// Inputs:   v_ndc (vec2, normalised device coordinates).
// Uniforms: u_fade (float, 0 = no darkening, 1 = black).
// Output:   o_color (vec4, black with the darkening as alpha).
#version 410 core

in vec2 v_ndc;

uniform float u_fade;

out vec4 o_color;

void main() {
    float edge = smoothstep(0.4, 1.6, length(v_ndc));
    float darkening = clamp(u_fade * (1.0 + 0.35 * edge), 0.0, 1.0);
    o_color = vec4(0.0, 0.0, 0.0, darkening);
}
