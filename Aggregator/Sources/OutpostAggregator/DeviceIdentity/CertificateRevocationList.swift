import Crypto
import Foundation
import SwiftASN1
import X509

/// An X.509 v2 CRL (RFC 5280 §5), signed ECDSA-with-SHA256 by the fleet CA.
///
/// swift-certificates has no CRL type, so this encodes `CertificateList` with SwiftASN1:
/// version v2, issuer, thisUpdate, nextUpdate, the revoked serials with their dates, and
/// the authorityKeyIdentifier and cRLNumber extensions OpenSSL expects.
public struct CertificateRevocationList: Sendable, Equatable {
    public let derBytes: [UInt8]

    public var pemString: String { PEMDocument(type: "X509 CRL", derBytes: derBytes).pemString + "\n" }

    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let cRLNumber: ASN1ObjectIdentifier = [2, 5, 29, 20]

    static func sign(issuer: Certificate, key: P256.Signing.PrivateKey, revoked: [(serial: Certificate.SerialNumber, revokedAt: Date)],
                     number: Int64, thisUpdate: Date, nextUpdate: Date) throws -> CertificateRevocationList {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(issuer.subject)
            try coder.serialize(try utcTime(thisUpdate))
            try coder.serialize(try utcTime(nextUpdate))
            if !revoked.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { list in
                    for entry in revoked.sorted(by: { $0.serial.bytes.lexicographicallyPrecedes($1.serial.bytes) }) {
                        try list.appendConstructedNode(identifier: .sequence) { item in
                            try item.serialize(entry.serial.bytes)
                            try item.serialize(try utcTime(entry.revokedAt))
                        }
                    }
                }
            }
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { extensions in
                    if let identifier = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier {
                        try extensions.serialize(try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: identifier), critical: false))
                    }
                    try extensions.appendConstructedNode(identifier: .sequence) { ext in
                        try ext.serialize(cRLNumber)
                        var value = DER.Serializer()
                        try value.serialize(number)
                        try ext.serialize(ASN1OctetString(contentBytes: value.serializedBytes[...]))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try key.signature(for: tbsBytes).derRepresentation
        var list = DER.Serializer()
        try list.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        return CertificateRevocationList(derBytes: list.serializedBytes)
    }

    /// The `thisUpdate` and `nextUpdate` of a PEM CRL as ``sign(issuer:key:revoked:number:thisUpdate:nextUpdate:)``
    /// writes it (both UTCTime); nil when the text is not such a CRL.
    public static func validity(pem: String) -> (thisUpdate: Date, nextUpdate: Date)? {
        guard let document = try? PEMDocument(pemString: pem), document.discriminator == "X509 CRL",
              let root = try? DER.parse(document.derBytes)
        else { return nil }
        return try? DER.sequence(root, identifier: .sequence) { list in
            guard let tbsNode = list.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbsCertList") }
            while list.next() != nil {}
            return try DER.sequence(tbsNode, identifier: .sequence) { tbs in
                // version, signature algorithm, issuer
                for _ in 0..<3 { guard tbs.next() != nil else { throw ASN1Error.invalidASN1Object(reason: "short tbsCertList") } }
                guard let thisNode = tbs.next(), let nextNode = tbs.next() else { throw ASN1Error.invalidASN1Object(reason: "no update times") }
                let this = try UTCTime(derEncoded: thisNode), next = try UTCTime(derEncoded: nextNode)
                while tbs.next() != nil {}
                guard let thisUpdate = date(this), let nextUpdate = date(next) else { throw ASN1Error.invalidASN1Object(reason: "bad time") }
                return (thisUpdate: thisUpdate, nextUpdate: nextUpdate)
            }
        }
    }

    static func date(_ time: UTCTime) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes,
                                                  second: time.seconds))
    }

    /// UTCTime for dates before 2050 (RFC 5280 §5.1.2.4), which is all this CA issues.
    static func utcTime(_ date: Date) throws -> UTCTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return try UTCTime(year: parts.year!, month: parts.month!, day: parts.day!, hours: parts.hour!, minutes: parts.minute!,
                           seconds: parts.second!)
    }
}
