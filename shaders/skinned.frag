// skinned.frag — the avatar's skin: soft hemisphere + one directional light (the room's
// lighting model), tinted per patient; a "ghost" variant for imagery demonstrations shows the
// body as a translucent rim-lit silhouette.
// Inputs:   v_world_position (vec3, metres), v_world_normal (vec3), v_view (flat int).
// Uniform blocks: View (binding 0, see mesh.vert): u_eye_position[v_view], u_encode_srgb.
// Uniforms: u_color (vec4, linear RGB + alpha: base colour times the patient's skin tint),
//           u_ghost (bool) — per avatar; u_light_direction (vec3, unit, towards the light),
//           u_light_color, u_sky_color, u_ground_color (vec3, linear RGB) — set once.
// Output:   o_color (vec4).
#version 410 core

in vec3 v_world_position;
in vec3 v_world_normal;
flat in int v_view;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

uniform vec4 u_color;
uniform vec3 u_light_direction;
uniform vec3 u_light_color;
uniform vec3 u_sky_color;
uniform vec3 u_ground_color;
uniform bool u_ghost;

out vec4 o_color;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    vec3 n = normalize(v_world_normal);
    if (!gl_FrontFacing) n = -n;
    vec3 to_eye = normalize(u_eye_position[v_view].xyz - v_world_position);
    vec3 hemisphere = mix(u_ground_color, u_sky_color, 0.5 + 0.5 * n.y);
    float lambert = max(dot(n, u_light_direction), 0.0);
    // Skin scatters light: a little wrap-around keeps the shadow side from going flat grey.
    float wrapped = max((dot(n, u_light_direction) + 0.3) / 1.3, 0.0);
    vec3 lit = u_color.rgb * (hemisphere + u_light_color * mix(lambert, wrapped, 0.5));
    float alpha = u_color.a;
    if (u_ghost) {
        float rim = pow(1.0 - max(dot(n, to_eye), 0.0), 2.0);
        lit = mix(lit, vec3(0.85, 0.92, 1.0), 0.5 * rim);
        alpha *= 0.25 + 0.55 * rim;
    }
    o_color = vec4(u_encode_srgb != 0 ? linear_to_srgb(lit) : lit, alpha);
}
