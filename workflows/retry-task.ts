// placeholder replaced in the next commit
export async function retryTask(): Promise<void> {}
