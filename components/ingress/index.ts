export { IngressController, type IngressControllerArgs } from "./ingress-controller";
export {
  clearHeaderSnippet,
  INGRESS_CLASS,
  INGRESS_CLASSES,
  INGRESS_RELEASES,
  ingressNginxValues,
  LB_ADDRESS_TYPE_ANNOTATION,
  LB_ID_ANNOTATION,
  LB_OVERRIDE_LISTENERS_ANNOTATION,
  STRIPPED_CLIENT_CERT_HEADERS,
  STRIPPED_HEADER_PATTERNS,
} from "./values";
