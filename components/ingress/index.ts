export { IngressController, type IngressControllerArgs } from "./ingress-controller";
export { INGRESS_CLASS, ingressNginxValues, LB_ID_ANNOTATION, LB_OVERRIDE_LISTENERS_ANNOTATION } from "./values";
