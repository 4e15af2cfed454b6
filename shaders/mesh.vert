// mesh.vert — places a mesh in the world for the lit and unlit mesh programs.
// Inputs:   a_position (vec3, mesh frame, metres), a_normal (vec3, mesh frame, unit).
// Uniforms: u_world_from_mesh (mat4), u_normal_world_from_mesh (mat3, inverse transpose of
//           the upper 3x3 of u_world_from_mesh), u_clip_from_world (mat4, projection * view).
// Outputs:  v_world_position (vec3, metres), v_world_normal (vec3, not normalised).
#version 410 core

layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;

uniform mat4 u_world_from_mesh;
uniform mat3 u_normal_world_from_mesh;
uniform mat4 u_clip_from_world;

out vec3 v_world_position;
out vec3 v_world_normal;

void main() {
    vec4 world = u_world_from_mesh * vec4(a_position, 1.0);
    v_world_position = world.xyz;
    v_world_normal = u_normal_world_from_mesh * a_normal;
    gl_Position = u_clip_from_world * world;
}
