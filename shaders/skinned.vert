// skinned.vert — linear blend skinning of an avatar on the GPU.
// Inputs:   a_position (vec3, bind-pose model frame, metres), a_normal (vec3, unit),
//           a_joints (uvec4, indices into the palette), a_weights (vec4, summing to 1).
// Views:    VIEW (int expression), the view (eye) being drawn, as in mesh.vert.
// Uniform blocks: View (binding 0, see mesh.vert): u_clip_from_world[VIEW].
// Uniforms: u_palette (sampler2D, RGBA32F, 4 texels per joint: row r of joint j's
//           world_from_bind matrix at texel (r, j); uploaded once per frame; set once).
// Outputs:  v_world_position (vec3, metres), v_world_normal (vec3, not normalised),
//           v_view (flat int, the view drawn) — the same varyings as mesh.vert, so any lit
//           fragment shader can follow.
#version 410 core

layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in uvec4 a_joints;
layout(location = 3) in vec4 a_weights;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

uniform sampler2D u_palette;

out vec3 v_world_position;
out vec3 v_world_normal;
flat out int v_view;

mat4 joint_matrix(uint joint) {
    int j = int(joint);
    // Texel (r, j) holds row r; GLSL matrices are built from columns, hence the transpose.
    return transpose(mat4(texelFetch(u_palette, ivec2(0, j), 0),
                          texelFetch(u_palette, ivec2(1, j), 0),
                          texelFetch(u_palette, ivec2(2, j), 0),
                          texelFetch(u_palette, ivec2(3, j), 0)));
}

void main() {
    mat4 skin = a_weights.x * joint_matrix(a_joints.x) + a_weights.y * joint_matrix(a_joints.y)
              + a_weights.z * joint_matrix(a_joints.z) + a_weights.w * joint_matrix(a_joints.w);
    vec4 world = skin * vec4(a_position, 1.0);
    v_world_position = world.xyz;
    // Normals use the cofactor of the upper 3x3 (the inverse transpose up to scale), which
    // stays right for the bone stretches the rig fits to the patient's proportions.
    mat3 m = mat3(skin);
    mat3 cofactor = mat3(cross(m[1], m[2]), cross(m[2], m[0]), cross(m[0], m[1]));
    v_world_normal = cofactor * a_normal;
    v_view = VIEW;
    gl_Position = u_clip_from_world[VIEW] * world;
#ifdef LAYERED
    gl_Layer = VIEW;
#endif
}
