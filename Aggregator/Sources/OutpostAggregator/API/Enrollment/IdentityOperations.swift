/// What the admin API needs to change identities: the same token issuer as `token create`
/// and the same revocation as `cert revoke`. Absent when the aggregator has no CA; the
/// routes that need it then answer 503 `ca_unavailable`.
public struct IdentityOperations: Sendable {
    let tokens: EnrollmentTokenIssuer
    let revocation: Revocation

    public init(tokens: EnrollmentTokenIssuer, revocation: Revocation) {
        self.tokens = tokens
        self.revocation = revocation
    }

    public init(configuration: AggregatorConfiguration, authority: CertificateAuthority, store: IdentityStore) {
        self.init(tokens: EnrollmentTokenIssuer(configuration: configuration, authority: authority, store: store, logger: store.logger),
                  revocation: Revocation(configuration: configuration, authority: authority, store: store, logger: store.logger))
    }
}
