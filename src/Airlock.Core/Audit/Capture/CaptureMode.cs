namespace Airlock.Core.Audit.Capture;

/// <summary>How much of a request's content is kept, per team or key (<c>audit.capture</c>).</summary>
public enum CaptureMode
{
    /// <summary>The chained metadata record only (default).</summary>
    None,

    /// <summary>Metadata: findings, tool names and file paths, which the chained record already holds; no content.</summary>
    Metadata,

    /// <summary>The request as forwarded (after redaction) and the response text, encrypted.</summary>
    Redacted,

    /// <summary>The request as received and the response text, encrypted.</summary>
    Full,
}

/// <summary>Text forms of <see cref="CaptureMode"/>.</summary>
public static class CaptureModes
{
    /// <summary>Every mode name, in configuration order.</summary>
    public static readonly string[] Names = ["none", "metadata", "redacted", "full"];

    /// <summary>Stored and configured text.</summary>
    public static string ToText(CaptureMode mode) => Names[(int)mode];

    /// <summary>Parses a configured mode (already validated against <see cref="Names"/>).</summary>
    public static CaptureMode Parse(string text) => (CaptureMode)Array.IndexOf(Names, text.ToLowerInvariant()) is var m && m >= 0
        ? m
        : throw new FormatException($"unknown capture mode '{text}'");

    /// <summary>True when the mode stores content.</summary>
    public static bool StoresContent(this CaptureMode mode) => mode is CaptureMode.Redacted or CaptureMode.Full;
}
