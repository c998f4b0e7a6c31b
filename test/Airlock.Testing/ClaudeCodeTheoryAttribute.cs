using Xunit;

namespace Airlock.Testing;

/// <summary>The <see cref="TheoryAttribute"/> twin of <see cref="ClaudeCodeFactAttribute"/>: skipped locally, failed under CI, when the CLI is missing.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ClaudeCodeTheoryAttribute : TheoryAttribute
{
    public ClaudeCodeTheoryAttribute()
    {
        if (!ClaudeCodeCli.IsInstalled && !ClaudeCodeCli.IsContinuousIntegration)
        {
            Skip = ClaudeCodeCli.NotInstalledMessage;
        }
    }
}
