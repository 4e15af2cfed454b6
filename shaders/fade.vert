// fade.vert — one triangle covering the whole viewport, generated from gl_VertexID.
// Inputs:   none (draw 3 vertices with an empty vertex array object).
// Views:    VIEW (int expression), the view (eye) being drawn, as in mesh.vert.
// Uniforms: none.
// Outputs:  v_ndc (vec2, normalised device coordinates).
#version 410 core

out vec2 v_ndc;

void main() {
    vec2 corner = vec2((gl_VertexID == 1) ? 3.0 : -1.0, (gl_VertexID == 2) ? 3.0 : -1.0);
    v_ndc = corner;
    gl_Position = vec4(corner, 0.0, 1.0);
#ifdef LAYERED
    gl_Layer = VIEW;
#endif
}
