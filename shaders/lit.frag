// lit.frag — calm, soft lighting for solid surfaces: a sky/ground hemisphere light plus one
// directional "sun" (Lambert) and a little Blinn-Phong specular. All maths in linear RGB.
// Inputs:   v_world_position (vec3, metres), v_world_normal (vec3), v_color (vec4, linear
//           RGB + alpha), v_view (flat int, the view drawn).
// Uniform blocks: View (binding 0, see mesh.vert): u_eye_position, u_encode_srgb.
// Uniforms: u_light_direction (vec3, unit, world, pointing towards the light),
//           u_light_color, u_sky_color, u_ground_color (vec3, linear RGB) — set once.
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

uniform vec3 u_light_direction;
uniform vec3 u_light_color;
uniform vec3 u_sky_color;
uniform vec3 u_ground_color;

out vec4 o_color;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    vec3 n = normalize(v_world_normal);
    // Culling is on for closed meshes; a surface seen from behind (culling off) turns to face us.
    if (!gl_FrontFacing) n = -n;
    vec3 to_eye = normalize(u_eye_position[v_view].xyz - v_world_position);
    vec3 hemisphere = mix(u_ground_color, u_sky_color, 0.5 + 0.5 * n.y);
    float lambert = max(dot(n, u_light_direction), 0.0);
    vec3 half_vector = normalize(u_light_direction + to_eye);
    float specular = lambert > 0.0 ? pow(max(dot(n, half_vector), 0.0), 48.0) * 0.15 : 0.0;
    vec3 lit = v_color.rgb * (hemisphere + u_light_color * lambert) + u_light_color * specular;
    o_color = vec4(u_encode_srgb != 0 ? linear_to_srgb(lit) : lit, v_color.a);
}
