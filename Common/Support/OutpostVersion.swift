/// The one place the release version is written. `make deb` and the binaries read it here.
public enum OutpostVersion {
    public static let current = "0.1.0"
}
