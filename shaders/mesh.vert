// mesh.vert — places a mesh in the world for the lit and unlit mesh programs.
// Inputs:   a_position (vec3, mesh frame, metres), a_normal (vec3, mesh frame, unit),
//           a_color (vec4, linear RGB + alpha; a merged group's per-part colours, or the
//           constant (1, 1, 1, 1) for meshes without a colour array).
// Views:    VIEW (int expression), the view (eye) being drawn: 0, or in a one-pass stereo
//           program gl_ViewID_OVR (multiview) or gl_InstanceID (layered, which also routes
//           the primitive to that layer); defined by render/shader.py after the version line.
// Uniform blocks (std140, filled by render/renderer.py):
//   View (binding 0): u_clip_from_world[2] (mat4, projection * view), u_eye_position[2]
//           (vec4, world, metres; w unused), one per view ([0] alone outside one-pass
//           stereo), u_encode_srgb (int: 1 when the target does not encode sRGB itself).
//   Objects (binding 1): u_objects[MAX_OBJECTS] of world_from_mesh (mat4),
//           normal_world_from_mesh (mat3, inverse transpose of the upper 3x3, up to a
//           positive scale), color (vec4, linear RGB + alpha) — once per draw list.
// Uniforms: u_object (int, this item's index in u_objects).
// Outputs:  v_world_position (vec3, metres), v_world_normal (vec3, not normalised),
//           v_color (vec4, linear RGB + alpha), v_view (flat int, the view drawn).
#version 410 core

#define MAX_OBJECTS 128

layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_color;

layout(std140) uniform View {
    mat4 u_clip_from_world[2];
    vec4 u_eye_position[2];
    int u_encode_srgb;
};

struct Object {
    mat4 world_from_mesh;
    mat3 normal_world_from_mesh;
    vec4 color;
};

layout(std140) uniform Objects {
    Object u_objects[MAX_OBJECTS];
};

uniform int u_object;

out vec3 v_world_position;
out vec3 v_world_normal;
out vec4 v_color;
flat out int v_view;

void main() {
    Object object = u_objects[u_object];
    vec4 world = object.world_from_mesh * vec4(a_position, 1.0);
    v_world_position = world.xyz;
    v_world_normal = object.normal_world_from_mesh * a_normal;
    v_color = object.color * a_color;
    v_view = VIEW;
    gl_Position = u_clip_from_world[VIEW] * world;
#ifdef LAYERED
    gl_Layer = VIEW;
#endif
}
